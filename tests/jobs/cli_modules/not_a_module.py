"""Answers --xml with something that is not a module description: discovery leaves it out."""

print("<executable><parameters><label>x</label><integr><name>a</name></integr></parameters></executable>")
