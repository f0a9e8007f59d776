"""A third-party style Python CLI module that needs a lot of memory."""

import sys

XML = """<?xml version="1.0" encoding="utf-8"?>
<executable>
  <category>Testing</category>
  <title>Hungry</title>
  <description>Allocates memory.</description>
  <parameters>
    <label>Memory</label>
    <description>How much</description>
    <integer>
      <name>megabytes</name>
      <longflag>megabytes</longflag>
      <label>MiB</label>
      <description>How much to allocate</description>
      <default>2048</default>
    </integer>
  </parameters>
</executable>
"""

if "--xml" in sys.argv:
    sys.stdout.write(XML)
    sys.exit(0)
size = int(sys.argv[sys.argv.index("--megabytes") + 1]) if "--megabytes" in sys.argv else 2048
block = bytearray(size * 1024 * 1024)
print(len(block))
