"""A third-party style Python CLI module: counts for a while with progress, with a helper child process (so that
cancelling has a process tree to kill), and writes how far it got."""

import subprocess
import sys
import time

XML = """<?xml version="1.0" encoding="utf-8"?>
<executable>
  <category>Testing</category>
  <title>Slow Count</title>
  <description>Counts slowly, reporting progress.</description>
  <version>0.1</version>
  <parameters>
    <label>Count</label>
    <description>How long</description>
    <double>
      <name>seconds</name>
      <longflag>seconds</longflag>
      <label>Seconds</label>
      <description>How long to count</description>
      <default>2</default>
      <constraints><minimum>0</minimum><maximum>600</maximum></constraints>
    </double>
    <file fileExtensions=".txt">
      <name>report</name>
      <longflag>report</longflag>
      <label>Report</label>
      <channel>output</channel>
      <description>Where the count ends up</description>
    </file>
    <integer>
      <name>steps</name>
      <label>Steps counted</label>
      <channel>output</channel>
      <description>Steps done</description>
    </integer>
  </parameters>
</executable>
"""


def main(argv):
    if "--xml" in argv:
        sys.stdout.write(XML)
        return 0
    seconds, report, returns = 2.0, None, None
    args = iter(argv)
    for arg in args:
        if arg == "--seconds":
            seconds = float(next(args))
        elif arg == "--report":
            report = next(args)
        elif arg == "--returnparameterfile":
            returns = next(args)
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    print(f"helper pid {helper.pid}", flush=True)
    print("<filter-start><filter-name>Slow Count</filter-name></filter-start>", flush=True)
    steps = 20
    for step in range(steps):
        print(f"<filter-comment>step {step + 1} of {steps}</filter-comment>", flush=True)
        print(f"<filter-progress>{step / steps:.3f}</filter-progress>", flush=True)
        time.sleep(seconds / steps)
    helper.kill()
    if report:
        with open(report, "w") as out:
            out.write(f"counted {steps} steps\n")
    if returns:
        with open(returns, "w") as out:
            out.write(f"steps = {steps}\n")
    print("<filter-progress>1</filter-progress><filter-end></filter-end>", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
