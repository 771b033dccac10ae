"""The code of scripts/bench (what it measures: scripts/bench's docstring).

  cli          the command line and the run: arguments, root, limits, signals, sections in order, table and JSON
  bench        the state the sections share: directories, certificates, daemons, payloads and trees, recorded rows
  sections/    one module per section of issue #7 (1 upload, 2 concurrent, 3 handshakes, 4 idle sessions,
               5a rotation, 5b key-exchange groups; 6 resume, issue #15; 7 flood, issue #16; 8 small files,
               issue #17), registered in sections/__init__.py
  tools        one measurement of each tool: ferry upload, sftp/scp, a tree by ferry/rsync/scp -r/sftp, dd,
               ferry loadtest
  daemons      the servers: ferryd (generated configurations) and a private sshd
  guard        around each measurement: the idle wait and the foreign-load sampler
  processes    starting, timing and stopping child processes
  ports        free ports on 127.0.0.1 and waiting for a listener
  host         the machine: packages, the release build, file system types
  files        payload files and trees of small files, the page cache, emptying destinations, checking a stored tree
  procfs       parsers and readers of /proc
  parsers      parsers of the tools' output (openssl, ferry --json, df, the Swift source's group names)
  stats        medians, spreads, ratios, alternation order, rates of a run (per GB or per file)
  units        MB/s, CPU-s/GB, files/s and CPU µs/file arithmetic, byte sizes for labels
  report       the table on stdout and the JSON file
  provenance   what the figures came from: machine, ferry commit, tool versions
  settings     constants: paths, ciphers, the tools' paths, guard thresholds, targets, sizes
  progress     the progress log on stderr
"""
