"""Synthetic F1-hybrid benchmark: planted JASPAR motifs, a known sequence-to-activity function,
a second allele with SNVs and indels, a shared locus effect and negative-binomial counts.

Generative model, per locus i (natural logs):

* allele A: uniform random background of length ``seq_len`` with ``Poisson(motif_rate)`` planted
  motif instances (at most 4, non-overlapping), each drawn base by base from a JASPAR2020 PFM
  (default SPI1 MA0080.5, FOS::JUN MA0099.3, CTCF MA0139.1; read offline from ``pyjaspar``) on a
  random strand;
* allele B: A with SNVs (``snv_rate`` per bp, ``motif_snv_rate`` inside planted sites) and, in a
  fraction ``indel_frac`` of loci, one 1-3 bp insertion or deletion; both alleles are then cut to
  ``seq_len`` (an indel shifts B's downstream sequence, as real strain sequences do);
* activity f(s) = sum_m w_m occ_m(s) + w_int occ_1(s) occ_2(s), with
  occ_m(s) = sum over positions and strands of sigmoid(llr_m - thr_m), llr_m the log-odds PWM score
  against a uniform background and thr_m = ``threshold_frac`` x the PWM's best score; the
  interaction couples the first two motifs;
* mean count mu_X = depth * exp(f(X) + u_i), u_i ~ Normal(0, sigma_shared) shared by both alleles
  (it cancels in the ratio, as trans and technical effects do in F1 data);
* counts ~ NegativeBinomial(mean mu, size theta).

Truth per locus: the noise-free log ratio f(A) - f(B), noise-free log counts
log(depth) + f(X) + sigma^2/2 (the expectation over u, the best any sequence model can do), the
shared effect, and the causal ("main") variant: the variant of B whose insertion alone into A changes
f the most (as in DeepAllele's variant ISM); null when no variant changes f by more than 1e-3.

The oracle (:func:`oracle_summary`) correlates that truth with the noisy observations, so a model
is judged against what is achievable.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import AllelekitError

DEFAULT_MOTIFS = ("MA0080.5", "MA0099.3", "MA0139.1")  # SPI1, FOS::JUN, CTCF (JASPAR2020)
DEFAULT_WEIGHTS = (1.0, 0.8, 0.6)
BASES = np.array(list("ACGT"))
# approximate mm10 autosome lengths (Mb): loci are spread in proportion, so chr16 ~ 4% of loci
MOUSE_CHROMS = {f"chr{i}": s for i, s in enumerate(
    [195, 182, 160, 157, 152, 150, 145, 129, 125, 131, 122, 120, 121, 125, 104, 98, 95, 91, 61], start=1)}


def load_pfms(motif_ids: Sequence[str], release: str = "JASPAR2020") -> list[tuple[str, str, np.ndarray]]:
    """(matrix_id, name, 4 x w probability matrix in ACGT order) for each JASPAR ID, offline via pyjaspar."""
    try:
        from pyjaspar import jaspardb
    except ImportError as exc:  # pragma: no cover
        raise AllelekitError("the synthetic benchmark needs pyjaspar (pip install pyjaspar)") from exc
    db = jaspardb(release=release)
    out = []
    for mid in motif_ids:
        m = db.fetch_motif_by_id(mid)
        if m is None:
            raise AllelekitError(f"JASPAR matrix {mid!r} not found in {release}")
        counts = np.array([m.counts[b] for b in "ACGT"], dtype=np.float64)
        probs = (counts + 0.25) / (counts.sum(axis=0, keepdims=True) + 1.0)
        out.append((m.matrix_id, m.name, probs))
    return out


class ActivityFunction:
    """The known sequence-to-activity function: PWM occupancies, weights and one interaction."""

    def __init__(self, pfms, weights: Sequence[float], interaction: float = 0.7, threshold_frac: float = 0.6):
        import torch

        self.ids = [p[0] for p in pfms]
        self.names = [p[1] for p in pfms]
        self.widths = [p[2].shape[1] for p in pfms]
        self.weights = np.asarray(weights, dtype=np.float64)
        if len(self.weights) != len(pfms):
            raise AllelekitError("one weight per motif is needed")
        self.interaction = float(interaction)
        wmax = max(self.widths)
        kernels, thr = [], []
        for _, _, p in pfms:
            llr = np.log(p / 0.25)
            k = np.zeros((4, wmax))
            k[:, : llr.shape[1]] = llr
            kernels += [k, k[::-1, ::-1].copy()]  # forward and reverse-complement strand
            thr += [threshold_frac * llr.max(axis=0).sum()] * 2
        self.kernel = torch.tensor(np.stack(kernels), dtype=torch.float32)
        self.thr = torch.tensor(thr, dtype=torch.float32).view(1, -1, 1)
        self.wmax = wmax

    def occupancy(self, codes: np.ndarray, batch: int = 4096) -> np.ndarray:
        """(N, L) int codes (0-3) -> (N, n_motifs) occupancies."""
        import torch
        import torch.nn.functional as F

        out = []
        n_m = len(self.ids)
        for s in range(0, len(codes), batch):
            x = torch.nn.functional.one_hot(torch.as_tensor(codes[s:s + batch], dtype=torch.long), 4)
            x = x.permute(0, 2, 1).float()
            score = F.conv1d(x, self.kernel)  # (n, 2 m, L - wmax + 1)
            occ = torch.sigmoid(score - self.thr).sum(dim=2).view(-1, n_m, 2).sum(dim=2)
            occ = 1.0 - torch.exp(-occ)  # saturating: a second site of the same motif adds little
            out.append(occ.numpy().astype(np.float64))
        return np.concatenate(out) if out else np.zeros((0, n_m))

    def activity(self, occ: np.ndarray) -> np.ndarray:
        f = occ @ self.weights
        if occ.shape[1] >= 2:
            f = f + self.interaction * occ[:, 0] * occ[:, 1]
        return f


def _apply(seq: np.ndarray, variants: list[tuple[int, np.ndarray, np.ndarray]]) -> np.ndarray:
    """Apply (pos, ref codes, alt codes) variants, sorted by pos, to a code array (A coordinates)."""
    parts, last = [], 0
    for pos, ref, alt in variants:
        parts += [seq[last:pos], alt]
        last = pos + len(ref)
    parts.append(seq[last:])
    return np.concatenate(parts)


def make_f1(n_loci: int = 2000, seq_len: int = 330, seed: int = 0, *, sigma_shared: float = 1.0,
            theta: float = 50.0, depth: float = 10.0, motifs: Sequence[str] = DEFAULT_MOTIFS,
            weights: Sequence[float] | None = None, interaction: float = 0.7, motif_rate: float = 1.5,
            snv_rate: float = 0.01, motif_snv_rate: float = 0.05, indel_frac: float = 0.1,
            threshold_frac: float = 0.6, chroms: dict[str, float] | None = None):
    """Simulate an F1-hybrid allele-specific dataset with known truth.

    Returns ``(dataset, truth)``: ``dataset`` in the ``cnn_dataset`` schema (locus_id, chrom, start,
    end, seq_a, seq_b, count_a, count_b) and ``truth`` with, per locus: locus_id, chrom, causal_pos
    (0-based position in allele A of the main variant, nullable Int64), causal_ref/causal_alt,
    causal_effect (f(A) - f(A + v): positive when A's allele raises A/B), causal_motif (JASPAR ID
    of the motif whose occupancy that variant changes most, or null), causal_in_site (main variant
    inside a planted site), n_variants, variants ('pos:ref>alt;...' in A coordinates, '-' = empty),
    motifs_a / motifs_b ('ID:pos:strand;...' planted sites, B positions shifted by indels),
    true_log_ratio, true_log_count_a/b, activity_a/b, shared_effect, mu_a, mu_b.
    ``truth.attrs["oracle"]`` holds :func:`oracle_summary` over all loci.
    """
    import pandas as pd

    if n_loci < 1 or seq_len < 40:
        raise AllelekitError("make_f1 needs n_loci >= 1 and seq_len >= 40")
    rng = np.random.default_rng(seed)
    pfms = load_pfms(motifs)
    weights = DEFAULT_WEIGHTS[: len(pfms)] if weights is None else weights
    fn = ActivityFunction(pfms, weights, interaction, threshold_frac)
    pad = 8
    total = seq_len + pad
    x_full = rng.integers(0, 4, size=(n_loci, total), dtype=np.int64)
    in_site = np.zeros((n_loci, seq_len), dtype=bool)
    sites: list[list[tuple[str, int, str, int]]] = []
    for i in range(n_loci):
        k = min(int(rng.poisson(motif_rate)), 4)
        placed: list[tuple[str, int, str, int]] = []
        for _ in range(k):
            m = int(rng.integers(len(pfms)))
            mid, _, p = pfms[m]
            w = p.shape[1]
            for _try in range(20):
                pos = int(rng.integers(0, seq_len - w + 1))
                if not in_site[i, max(0, pos - 2): pos + w + 2].any():
                    break
            else:
                continue
            cum = np.cumsum(p / p.sum(axis=0, keepdims=True), axis=0)
            draw = np.minimum((rng.random(w)[None, :] > cum).sum(axis=0), 3)
            strand = "+" if rng.random() < 0.5 else "-"
            if strand == "-":
                draw = 3 - draw[::-1]
            x_full[i, pos: pos + w] = draw
            in_site[i, pos: pos + w] = True
            placed.append((mid, pos, strand, w))
        sites.append(sorted(placed, key=lambda t: t[1]))

    # variants between the two alleles, in ancestor (x) coordinates: (pos, ref codes, alt codes)
    variants: list[list[tuple[int, np.ndarray, np.ndarray]]] = []
    for i in range(n_loci):
        vs: list[tuple[int, np.ndarray, np.ndarray]] = []
        blocked = np.zeros(seq_len, dtype=bool)
        if rng.random() < indel_frac:
            d = int(rng.integers(1, 4))
            pos = int(rng.integers(10, seq_len - 10))
            if rng.random() < 0.5:  # deletion of d bases
                vs.append((pos, x_full[i, pos: pos + d].copy(), np.zeros(0, dtype=np.int64)))
            else:  # insertion of d random bases before pos
                vs.append((pos, np.zeros(0, dtype=np.int64), rng.integers(0, 4, size=d)))
            blocked[max(0, pos - 1): pos + d + 1] = True
        rate = np.where(in_site[i], motif_snv_rate, snv_rate)
        for pos in np.flatnonzero((rng.random(seq_len) < rate) & ~blocked):
            ref = x_full[i, pos]
            alt = (ref + rng.integers(1, 4)) % 4
            vs.append((int(pos), np.array([ref]), np.array([alt])))
        variants.append(sorted(vs, key=lambda v: v[0]))

    def shifted(vs, pos: int) -> int:
        """Position ``pos`` of the unmutated sequence after applying ``vs``."""
        shift = 0
        for vpos, ref, alt in vs:
            if vpos < pos or (vpos == pos and len(ref) == 0):
                shift += len(alt) - len(ref)
        return pos + shift

    # the mutated copy is allele B or, for a random half of the loci, allele A (so that neither
    # allele systematically carries the intact motifs); everything below is in A coordinates
    a_full: list[np.ndarray] = []
    b_full: list[np.ndarray] = []
    swapped = rng.random(n_loci) < 0.5
    for i in range(n_loci):
        y = _apply(x_full[i], variants[i])
        if swapped[i]:
            rev = [(shifted(variants[i], pos), alt, ref) for pos, ref, alt in variants[i]]
            sites[i] = [(m, shifted(variants[i], pos), s, w) for m, pos, s, w in sites[i]]
            variants[i] = rev
            a_full.append(y)
            b_full.append(x_full[i])
        else:
            a_full.append(x_full[i])
            b_full.append(y)
    in_site = np.zeros((n_loci, seq_len), dtype=bool)
    for i in range(n_loci):
        for _, pos, _, w in sites[i]:
            in_site[i, pos: pos + w] = True

    a_codes = np.stack([a[:seq_len] for a in a_full])
    b_codes = np.stack([b[:seq_len] for b in b_full])
    occ_a, occ_b = fn.occupancy(a_codes), fn.occupancy(b_codes)
    f_a, f_b = fn.activity(occ_a), fn.activity(occ_b)

    # main variant: insert each variant alone into A (variant ISM on the true function)
    owner, single = [], []
    for i in range(n_loci):
        for j, v in enumerate(variants[i]):
            owner.append((i, j))
            single.append(_apply(a_full[i], [v])[:seq_len])
    causal_pos = [None] * n_loci
    causal_ref, causal_alt = [None] * n_loci, [None] * n_loci
    causal_effect = np.zeros(n_loci)
    causal_motif = [None] * n_loci
    if single:
        occ_v = fn.occupancy(np.stack(single))
        delta = fn.activity(occ_v) - f_a[[o[0] for o in owner]]
        best = np.zeros(n_loci)
        for (i, j), d, ov in zip(owner, delta, occ_v):
            if abs(d) > best[i] and abs(d) > 1e-3:
                best[i] = abs(d)
                pos, ref, alt = variants[i][j]
                causal_pos[i] = pos
                causal_ref[i] = "".join(BASES[ref]) or "-"
                causal_alt[i] = "".join(BASES[alt]) or "-"
                causal_effect[i] = -d
                dm = np.abs((ov - occ_a[i]) * fn.weights)
                causal_motif[i] = fn.ids[int(np.argmax(dm))] if dm.max() > 1e-4 else None

    u = rng.normal(0.0, sigma_shared, size=n_loci) if sigma_shared > 0 else np.zeros(n_loci)
    mu_a = depth * np.exp(f_a + u)
    mu_b = depth * np.exp(f_b + u)
    count_a = rng.negative_binomial(theta, theta / (theta + mu_a)).astype(np.float64)
    count_b = rng.negative_binomial(theta, theta / (theta + mu_b)).astype(np.float64)

    # chromosomes in proportion to (mouse) chromosome length, positions sorted within each
    chroms = chroms or MOUSE_CHROMS
    names = list(chroms)
    p = np.asarray([chroms[c] for c in names], dtype=np.float64)
    chrom_idx = np.sort(rng.choice(len(names), size=n_loci, p=p / p.sum()))
    starts = np.zeros(n_loci, dtype=np.int64)
    for ci in np.unique(chrom_idx):
        sel = np.flatnonzero(chrom_idx == ci)
        span = int(chroms[names[ci]] * 1e6) - seq_len
        starts[sel] = np.sort(rng.choice(span // seq_len, size=len(sel), replace=False)) * seq_len
    chrom = [names[c] for c in chrom_idx]
    ends = starts + seq_len
    ids = [f"{c}-{s}-{e}" for c, s, e in zip(chrom, starts, ends)]

    seq_a = ["".join(BASES[r]) for r in a_codes]
    seq_b = ["".join(BASES[r]) for r in b_codes]
    dataset = pd.DataFrame({"locus_id": ids, "chrom": chrom, "start": starts, "end": ends,
                            "seq_a": seq_a, "seq_b": seq_b, "count_a": count_a, "count_b": count_b})
    extra = depth_term = np.log(depth) + sigma_shared ** 2 / 2
    truth = pd.DataFrame({
        "locus_id": ids, "chrom": chrom,
        "causal_pos": pd.array(causal_pos, dtype="Int64"),
        "causal_ref": causal_ref, "causal_alt": causal_alt,
        "causal_effect": np.where(pd.isna(pd.array(causal_pos, dtype="Int64")), np.nan, causal_effect),
        "causal_motif": causal_motif,
        "causal_in_site": [bool(cp is not None and in_site[i, cp]) for i, cp in enumerate(causal_pos)],
        "n_variants": [len(v) for v in variants],
        "variants": [";".join(f"{pos}:{''.join(BASES[r]) or '-'}>{''.join(BASES[a]) or '-'}" for pos, r, a in vs)
                     for vs in variants],
        "motifs_a": [";".join(f"{m}:{pos}:{s}" for m, pos, s, _ in st) for st in sites],
        "motifs_b": [";".join(f"{m}:{shifted(variants[i], pos)}:{s}" for m, pos, s, _ in st)
                     for i, st in enumerate(sites)],
        "true_log_ratio": f_a - f_b,
        "true_log_count_a": f_a + extra, "true_log_count_b": f_b + extra,
        "activity_a": f_a, "activity_b": f_b,
        "shared_effect": u, "mu_a": mu_a, "mu_b": mu_b,
    })
    del depth_term
    truth.attrs["oracle"] = oracle_summary(dataset, truth)
    truth.attrs["params"] = dict(n_loci=n_loci, seq_len=seq_len, seed=seed, sigma_shared=sigma_shared, theta=theta,
                                 depth=depth, motifs=list(fn.ids), motif_names=list(fn.names),
                                 weights=[float(w) for w in fn.weights], interaction=interaction,
                                 motif_rate=motif_rate, snv_rate=snv_rate, motif_snv_rate=motif_snv_rate,
                                 indel_frac=indel_frac, threshold_frac=threshold_frac)
    return dataset, truth


def oracle_summary(dataset, truth, chroms: Sequence[str] | None = None) -> dict:
    """Pearson r of the noise-free truth against the noisy observations (optionally on some chromosomes).

    count_pearson pools both alleles (true log count vs log1p count); ratio_pearson is the true log
    ratio vs log((1 + count_a) / (1 + count_b)).  Also: the fraction of loci with |true log ratio| >
    0.25 whose main variant lies in a planted motif site.
    """
    from .data import pearson, spearman

    sel = np.ones(len(dataset), dtype=bool) if chroms is None else dataset["chrom"].isin(list(chroms)).to_numpy()
    ds, tr = dataset[sel], truth[sel]
    ca, cb = np.log1p(ds["count_a"].to_numpy()), np.log1p(ds["count_b"].to_numpy())
    ta, tb = tr["true_log_count_a"].to_numpy(), tr["true_log_count_b"].to_numpy()
    tr_ratio = tr["true_log_ratio"].to_numpy()
    big = np.abs(tr_ratio) > 0.25
    return {
        "n_loci": int(sel.sum()),
        "count_pearson": pearson(np.concatenate([ta, tb]), np.concatenate([ca, cb])),
        "count_a_pearson": pearson(ta, ca),
        "ratio_pearson": pearson(tr_ratio, ca - cb),
        "ratio_spearman": spearman(tr_ratio, ca - cb),
        "sd_true_log_ratio": float(np.std(tr_ratio)),
        "frac_main_variant_in_site": float(tr["causal_in_site"].to_numpy()[big].mean()) if big.any() else None,
    }
