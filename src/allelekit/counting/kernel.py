"""The numba kernels of the fast counter: parse decoded BAM records, emit per (SNV, fragment)
observations, and resolve the observations of each fragment into one count.

Importing this module imports numba (compiled code is cached on disk, ``cache=True``).

Observation codes: 0 = reference base, 1 = alternative base, 2 = other base (including N), 3 =
deletion over the SNV.  Bases use BAM's 4-bit codes (``=ACMGRSVTWYHKDBN`` -> 0..15).
"""
from __future__ import annotations

import numpy as np
from numba import njit

REF, ALT, OTHER, DEL = 0, 1, 2, 3
N_CODES = 4

# kernel status codes
NEED_DATA, DONE, GROW, UNSORTED, MALFORMED = 0, 1, 2, 3, 4

# indices into the int64 ``state`` array
S_LO, S_LASTPOS, S_RECORDS, S_PENDING, S_USED, S_NOSEQ, S_LONGCIGAR = range(7)
STATE_SIZE = 8

FNV_OFFSET = np.uint64(14695981039346656037)
FNV_PRIME = np.uint64(1099511628211)


@njit(cache=True)
def _i32(b, i):
    v = np.int64(b[i]) | (np.int64(b[i + 1]) << 8) | (np.int64(b[i + 2]) << 16) | (np.int64(b[i + 3]) << 24)
    if v >= 2147483648:
        v -= 4294967296
    return v


@njit(cache=True)
def _u32(b, i):
    return np.int64(b[i]) | (np.int64(b[i + 1]) << 8) | (np.int64(b[i + 2]) << 16) | (np.int64(b[i + 3]) << 24)


@njit(cache=True)
def _u16(b, i):
    return np.int64(b[i]) | (np.int64(b[i + 1]) << 8)


@njit(cache=True)
def finalize(obs_snv, obs_hash, obs_code, n_pending, upto, counts):
    """Count the fragments of all pending observations whose SNV index is < ``upto``.

    A fragment (same read-name hash at the same SNV) counts once: its observations' common code when
    they all agree, OTHER when they disagree.  Returns the number of observations still pending
    (moved to the front of the arrays).
    """
    m = 0
    for k in range(n_pending):
        if obs_snv[k] < upto:
            m += 1
    if m == 0:
        return n_pending
    sel_snv = np.empty(m, np.int64)
    sel_hash = np.empty(m, np.uint64)
    sel_code = np.empty(m, np.uint8)
    keep = 0
    t = 0
    for k in range(n_pending):
        if obs_snv[k] < upto:
            sel_snv[t] = obs_snv[k]
            sel_hash[t] = obs_hash[k]
            sel_code[t] = obs_code[k]
            t += 1
        else:
            obs_snv[keep] = obs_snv[k]
            obs_hash[keep] = obs_hash[k]
            obs_code[keep] = obs_code[k]
            keep += 1
    order = np.argsort(sel_snv, kind="mergesort")
    a = 0
    while a < m:
        s = sel_snv[order[a]]
        b = a
        while b < m and sel_snv[order[b]] == s:
            b += 1
        g = order[a:b]
        hs = sel_hash[g]
        o2 = np.argsort(hs)
        c = 0
        while c < b - a:
            h = hs[o2[c]]
            code = sel_code[g[o2[c]]]
            d = c + 1
            while d < b - a and hs[o2[d]] == h:
                if sel_code[g[o2[d]]] != code:
                    code = OTHER
                d += 1
            counts[s, code] += 1
            c = d
        a = b
    return keep


@njit(cache=True)
def count_records(buf, n, start, tid, snv_pos, snv_ref, snv_alt, min_mapq, min_baseq, flag_mask,
                  state, obs_snv, obs_hash, obs_code, counts):
    """Parse complete BAM records in ``buf[start:n]`` for reference ``tid``.

    ``snv_pos`` (0-based, sorted) / ``snv_ref`` / ``snv_alt`` (4-bit base codes) are the SNVs of this
    chunk.  Records are skipped when ``flag & flag_mask``, MAPQ < ``min_mapq``, SEQ is ``*`` or there
    is no CIGAR.  Returns ``(offset, status)``: the offset of the first unprocessed byte and NEED_DATA
    (give more bytes from ``offset``), DONE (no later record can overlap a SNV of the chunk), GROW
    (observation arrays full; enlarge them and call again from ``offset``), UNSORTED or MALFORMED.
    """
    nsnv = snv_pos.shape[0]
    cap = obs_snv.shape[0]
    lo = state[S_LO]
    last = state[S_LASTPOS]
    npend = state[S_PENDING]
    i = start
    status = NEED_DATA
    while True:
        if lo >= nsnv:
            status = DONE
            break
        if n - i < 4:
            break
        bs = _i32(buf, i)
        if bs < 32:
            status = MALFORMED
            break
        if n - i < 4 + bs:
            break
        refid = _i32(buf, i + 4)
        pos = _i32(buf, i + 8)
        if refid != tid:
            if 0 <= refid < tid:
                i += 4 + bs
                continue
            status = DONE
            break
        if pos < last:
            status = UNSORTED
            break
        last = pos
        while lo < nsnv and snv_pos[lo] < pos:
            lo += 1
        if lo >= nsnv:
            status = DONE
            break
        l_name = np.int64(buf[i + 12])
        mapq = np.int64(buf[i + 13])
        n_cig = _u16(buf, i + 16)
        flag = _u16(buf, i + 18)
        l_seq = _i32(buf, i + 20)
        if (flag & flag_mask) != 0 or mapq < min_mapq or n_cig == 0 or pos < 0:
            state[S_RECORDS] += 1
            i += 4 + bs
            continue
        if l_seq == 0:
            state[S_RECORDS] += 1
            state[S_NOSEQ] += 1
            i += 4 + bs
            continue
        name_off = i + 36
        cig_off = name_off + l_name
        seq_off = cig_off + 4 * n_cig
        qual_off = seq_off + (l_seq + 1) // 2
        if qual_off + l_seq > i + 4 + bs:
            status = MALFORMED
            break
        # reference end and the number of SNVs in [pos, end)
        end = pos
        for c in range(n_cig):
            v = _u32(buf, cig_off + 4 * c)
            op = v & 0xF
            if op == 0 or op == 2 or op == 3 or op == 7 or op == 8:
                end += v >> 4
        if n_cig == 2 and (_u32(buf, cig_off) & 0xF) == 4 and (_u32(buf, cig_off) >> 4) == l_seq \
                and (_u32(buf, cig_off + 4) & 0xF) == 3:
            # CIGAR with > 65535 operations kept in the CG tag: not supported, skipped and reported
            state[S_RECORDS] += 1
            state[S_LONGCIGAR] += 1
            i += 4 + bs
            continue
        k = 0
        j = lo
        while j < nsnv and snv_pos[j] < end:
            k += 1
            j += 1
        if k == 0:
            state[S_RECORDS] += 1
            state[S_USED] += 1
            i += 4 + bs
            continue
        if npend + k > cap:
            npend = finalize(obs_snv, obs_hash, obs_code, npend, lo, counts)
            if npend + k > cap:
                status = GROW
                break
        # read-name hash (FNV-1a, 64 bit)
        h = FNV_OFFSET
        for t in range(name_off, name_off + l_name - 1):
            h = (h ^ np.uint64(buf[t])) * FNV_PRIME
        r = pos
        q = 0
        j = lo
        for c in range(n_cig):
            v = _u32(buf, cig_off + 4 * c)
            op = v & 0xF
            ln = v >> 4
            if op == 0 or op == 7 or op == 8:
                while j < nsnv and snv_pos[j] < r + ln:
                    qq = q + snv_pos[j] - r
                    if qq < l_seq:
                        bq = np.int64(buf[qual_off + qq])
                        if bq >= min_baseq or bq == 255:
                            byte = buf[seq_off + (qq >> 1)]
                            nib = (byte >> 4) if (qq & 1) == 0 else (byte & 15)
                            if nib == snv_ref[j] or nib == 0:
                                code = REF
                            elif nib == snv_alt[j]:
                                code = ALT
                            else:
                                code = OTHER
                            obs_snv[npend] = j
                            obs_hash[npend] = h
                            obs_code[npend] = code
                            npend += 1
                    j += 1
                r += ln
                q += ln
            elif op == 2:
                while j < nsnv and snv_pos[j] < r + ln:
                    obs_snv[npend] = j
                    obs_hash[npend] = h
                    obs_code[npend] = DEL
                    npend += 1
                    j += 1
                r += ln
            elif op == 3:
                while j < nsnv and snv_pos[j] < r + ln:
                    j += 1
                r += ln
            elif op == 1 or op == 4:
                q += ln
        state[S_RECORDS] += 1
        state[S_USED] += 1
        i += 4 + bs
    state[S_LO] = lo
    state[S_LASTPOS] = last
    state[S_PENDING] = npend
    return i, status


def warm() -> None:
    """Compile (or load from the on-disk cache) both kernels now, e.g. before forking workers, so that
    each worker does not load or compile them again."""
    z8 = np.zeros(1, np.uint8)
    z64 = np.zeros(1, np.int64)
    counts = np.zeros((1, N_CODES), np.int64)
    finalize(z64.copy(), np.zeros(1, np.uint64), z8.copy(), 0, 0, counts)
    count_records(z8, 0, 0, 0, np.zeros(0, np.int64), np.zeros(0, np.uint8), np.zeros(0, np.uint8), 0, 0, 0,
                  np.zeros(STATE_SIZE, np.int64), z64.copy(), np.zeros(1, np.uint64), z8.copy(), counts)
