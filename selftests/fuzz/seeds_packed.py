#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""seeds_packed.py DIR - write well-formed starting inputs for fuzz_packed.

Each seed is a packed ring the harness (fuzz_ring.c -DFUZZ_PACKED) reads
as: header, one memory region (GPA 0x100000 -> the start of guest memory),
operation bytes, then guest memory holding the descriptor ring at offset
0, the driver event structure at 0x4000, the device event structure at
0x4010 and buffers from 0x5000.  They take the fuzzer past "nothing
available" at once: chains crossing the end of the ring, indirect tables
written the way DPDK writes them (NEXT and wrap bits inside), RX chains
under dirty logging, event-index suppression, discards and out-of-order
completion.  libFuzzer mutates from there.
"""
import os
import struct
import sys

GSIZE = 32 * 1024
GPA = 0x100000
F_IND, F_EVT, F_LOG, F_V1 = 1 << 28, 1 << 29, 1 << 26, 1 << 32
AVAIL, USED = 1 << 7, 1 << 15
NEXT, WRITE, INDIRECT = 1, 2, 4
RING, DRV, DEV, BUF = 0, 0x4000, 0x4010, 0x5000


def op(code, arg=0):
    return (arg << 4) | code


def seed(num, pos, wrap, feats, chains, ops, flags=0x00, drv=(0, 0),
         indirect=None):
    """chains: list of (id, [(len, writable), ...]) placed from pos."""
    mem = bytearray(GSIZE)
    buf = BUF
    p, w = pos, wrap
    for cid, segs in chains:
        for k, (ln, wr) in enumerate(segs):
            f = (AVAIL if w else USED) | (NEXT if k + 1 < len(segs) else 0)
            f |= WRITE if wr else 0
            addr = GPA + buf
            if indirect and cid in indirect:
                f |= INDIRECT
                addr, ln = GPA + indirect[cid][0], 16 * len(indirect[cid][1])
            struct.pack_into('<QIHH', mem, RING + 16 * p, addr, ln, cid, f)
            buf += 256
            p += 1
            if p == num:
                p, w = 0, not w
    for off, ents in (indirect or {}).values():
        for k, (ln, wr) in enumerate(ents):
            # DPDK's shape: NEXT and the wrap bits set inside the table
            f = AVAIL | (NEXT if k + 1 < len(ents) else 0) | (WRITE if wr else 0)
            struct.pack_into('<QIHH', mem, off + 16 * k, GPA + buf, ln, 7, f)
            buf += 256
    struct.pack_into('<HH', mem, DRV, drv[0], drv[1])
    # last_avail raw value: % num gives pos, bit 15 gives the wrap counter
    raw = ((0x8000 if wrap else 0) + (pos - (0x8000 if wrap else 0)) % num) & 0xffff
    h = bytes([flags]) + struct.pack('<H', num - 1) + struct.pack('<Q', feats)
    h += struct.pack('<H', raw)
    if flags & 0x80:
        h += struct.pack('<H', raw)
    h += struct.pack('<H', 0)                       # signalled_used
    for a in (RING, DRV, DEV):                      # pick_addr: base + off
        h += bytes([0]) + struct.pack('<H', a)
    h += bytes(3)                                   # log_addr
    if flags & 0x04:
        h += bytes(8)
    h += bytes([1])                                 # one region
    h += struct.pack('<I', GPA)[:3] + struct.pack('<H', GSIZE - 1)
    h += bytes([1]) + struct.pack('<H', 0)          # hva = guest + 0
    h += bytes([len(ops)]) + bytes(ops)
    return h + bytes(mem)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    tx = [(i, [(60, False)]) for i in range(3)]
    seeds = {
        'tx3': seed(8, 0, True, F_V1, tx,
                    [op(2), op(2), op(2), op(4), op(5), op(6), op(2), op(7)]),
        'tx_wrap_chain': seed(100, 98, True, F_V1 | F_EVT,
                              [(5, [(14, False), (20, False), (26, False)]),
                               (9, [(60, False)])],
                              [op(2), op(2), op(3, 1), op(3, 2), op(5), op(6),
                               op(10, 0), op(2)],
                              drv=(2 | 0x8000, 2)),
        'indirect_dpdk': seed(257, 3, False, F_V1 | F_IND,
                              [(2, [(0, False)])],
                              [op(2), op(4), op(5), op(12, 3), op(10, 1), op(2)],
                              indirect={2: (0x3000, [(12, False), (40, False),
                                                     (8, False)])}),
        'rx_log': seed(64, 60, True, F_V1 | F_LOG,
                       [(i, [(512, True), (512, True)]) for i in range(4)],
                       [op(0), op(1, 2), op(0), op(4, 1), op(15, 1), op(0),
                        op(9, 1), op(0), op(4)],
                       flags=0x18),
        'out_of_order': seed(16, 14, True, F_V1 | F_EVT,
                             [(i, [(60, False)] * (1 + i % 3)) for i in range(5)],
                             [op(2)] * 5 + [op(3), op(4, 3), op(5), op(6), op(5)],
                             drv=(1 | 0x8000, 2)),
        'discard': seed(10, 0, True, F_V1,
                        [(i, [(100, True)]) for i in range(6)],
                        [op(0), op(0), op(9, 1), op(9, 1), op(0), op(0), op(0),
                         op(4, 2), op(8), op(12, 1), op(0)]),
        'busy_ring': seed(1, 0, True, F_V1 | F_EVT, [(0, [(60, False)])],
                          [op(2), op(4), op(10), op(2), op(3), op(6), op(7),
                           op(5)]),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, 'seed-' + name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
