"""A generator piped through `mimecodec ... encode` and `... decode`: the
streaming commands' constant-memory check, shared by the CLI tests.

A child's peak RSS (ru_maxrss) counts its parent's RSS up to the exec, so
call this before the test allocates its large data."""
import os
import subprocess


def pipe_through(gen_args, enc_args, dec_args, each=None):
    """Runs gen | enc | dec, reading dec's output in 1 MiB pieces (each(piece,
    offset) is called for every piece). Returns (return codes of enc and dec,
    bytes out, the larger peak RSS of enc and dec in KiB)."""
    gen = subprocess.Popen(gen_args, stdout=subprocess.PIPE)
    enc = subprocess.Popen(enc_args, stdin=gen.stdout, stdout=subprocess.PIPE)
    dec = subprocess.Popen(dec_args, stdin=enc.stdout, stdout=subprocess.PIPE)
    gen.stdout.close()  # the children hold their own ends
    enc.stdout.close()
    total = 0
    while True:
        b = dec.stdout.read(1 << 20)
        if not b:
            break
        if each:
            each(b, total)
        total += len(b)
    dec.stdout.close()
    peak_kib = 0
    for p in (gen, enc, dec):
        _, status, ru = os.wait4(p.pid, 0)  # this child's own rusage
        p.returncode = os.waitstatus_to_exitcode(status)
        if p is not gen:
            peak_kib = max(peak_kib, ru.ru_maxrss)
    return (enc.returncode, dec.returncode), total, peak_kib
