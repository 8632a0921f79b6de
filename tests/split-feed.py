#!/usr/bin/env python3
"""split-feed.py STREAM CMD...: CMD must answer STREAM the same however it is cut.

Runs CMD with STREAM on a pipe as its standard input: twice in one write (the
first run fills the store, the second is the baseline, where the events it
stored are replays), then once for every byte offset, as two writes that
reach CMD as separate reads: the second is written only once CMD has
consumed the first (FIONREAD on the pipe says 0). Each split run must give
the baseline's exit status, standard output, standard error and quarantined
bytes (rejects/*.raw named on stderr, read from $DESK_STORE); reject names
carry the pid, so they are compared without it.

Prints one line "N splits, M differ" and, for the first differences, what
differed; exits 1 if any did. The baseline is written to $SPLIT_BASELINE
(if set) for the caller to check.
"""
import fcntl
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import termios
import time

REJECT = re.compile(rb'(rejects/[0-9TZ]+)-[0-9]+-[0-9]+\.raw')


def write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]


def drained(fd, child):
    """Waits until the pipe is empty (CMD has read everything) or CMD is gone."""
    buf = b'\0' * 4
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if struct.unpack('i', fcntl.ioctl(fd, termios.FIONREAD, buf))[0] == 0:
            return True
        if child.poll() is not None:
            return False
        time.sleep(0.0002)
    sys.exit('split-feed: the command did not read its input in 20 s')


def run(cmd, parts, out, err):
    out.seek(0)
    out.truncate()
    err.seek(0)
    err.truncate()
    child = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out, stderr=err)
    fd = child.stdin.fileno()
    try:
        for i, part in enumerate(parts):
            if i > 0 and not drained(fd, child):
                break
            write_all(fd, part)
    except BrokenPipeError:
        pass
    try:
        child.stdin.close()
    except BrokenPipeError:
        pass
    rc = child.wait()
    out.seek(0)
    err.seek(0)
    return normalise(rc, out.read(), err.read())


def normalise(rc, out, err):
    store = os.environ['DESK_STORE'].encode()
    raws = []
    for line in err.splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if isinstance(ev, dict) and isinstance(ev.get('reject'), str):
            with open(os.path.join(store, ev['reject'].encode()), 'rb') as f:
                raws.append(f.read())
    return (rc, REJECT.sub(rb'\1-PID-N.raw', out), REJECT.sub(rb'\1-PID-N.raw', err), raws)


def show(what, got, want):
    return '  %s: got %r\n  %s: want %r' % (what, got, what, want)


def main():
    if len(sys.argv) < 3:
        sys.exit('usage: split-feed.py STREAM CMD...')
    with open(sys.argv[1], 'rb') as f:
        stream = f.read()
    cmd = sys.argv[2:]
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    run(cmd, [stream], out, err)
    base = run(cmd, [stream], out, err)
    if os.environ.get('SPLIT_BASELINE'):
        with open(os.environ['SPLIT_BASELINE'], 'wb') as f:
            f.write(b'%d\n' % base[0] + base[1] + base[2])
    bad = []
    for cut in range(1, len(stream)):
        got = run(cmd, [stream[:cut], stream[cut:]], out, err)
        if got != base:
            bad.append((cut, got))
    print('%d splits, %d differ' % (len(stream) - 1, len(bad)))
    for cut, got in bad[:3]:
        print('# cut after %d bytes (%r | %r):' % (cut, stream[max(0, cut - 12):cut],
                                                  stream[cut:cut + 12]))
        for what, i in (('exit', 0), ('stdout', 1), ('stderr', 2), ('rejects', 3)):
            if got[i] != base[i]:
                print('#' + show(what, got[i], base[i]).replace('\n', '\n#'))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
