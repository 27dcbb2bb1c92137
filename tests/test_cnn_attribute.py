"""Library tests of allelekit.cnn.{attribute,variants,seqlets,motifs,meandiff,logos}.

Toy models with known answers (tangermeme style):

* ``LinearPaired``: ratio = <W_a, x_a> - <W_b, x_b> + c.  ISM is exactly W[b, p] - W[ref, p], so
  centred ISM, centred TISM and the analytic answer agree to float precision.
* ``MotifModel``: activity = sum over positions and strands of softplus(PWM log-odds score - thr) of
  one JASPAR motif (SPI1, MA0080.5) — a conv model whose filter IS the motif.  Planting the motif
  in random sequences and breaking it with a SNV in allele B gives a known causal variant and a
  known motif that seqlets, clustering, TomTom and MeanDiff must recover.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from allelekit.cnn import attribute as A
from allelekit.cnn import seqlets as S
from allelekit.cnn import variants as V

torch.manual_seed(0)
torch.use_deterministic_algorithms(True, warn_only=True)
BASES = np.array(list("ACGT"))
SPI1 = "MA0080.5"


def onehot(seqs):
    from allelekit.cnn.data import one_hot

    return one_hot(seqs)


class LinearPaired(torch.nn.Module):
    def __init__(self, length: int, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.wa = torch.nn.Parameter(torch.randn(4, length, generator=g))
        self.wb = torch.nn.Parameter(torch.randn(4, length, generator=g))

    def forward(self, xa, xb):
        ca = (xa * self.wa).sum((1, 2))
        cb = (xb * self.wb).sum((1, 2))
        return torch.stack([ca, cb, ca - cb + 0.5], 1)


class SmallConv(torch.nn.Module):
    """A non-linear paired conv model (random weights) for ISM vs brute force."""

    def __init__(self, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.conv = torch.nn.Conv1d(4, 6, 5, padding=2)
        self.head = torch.nn.Linear(12, 1)

    def forward(self, xa, xb):
        ha = torch.relu(self.conv(xa)).mean(2)
        hb = torch.relu(self.conv(xb)).mean(2)
        ca, cb = ha.sum(1, keepdim=True), hb.sum(1, keepdim=True)
        return torch.cat([ca, cb, self.head(torch.cat([ha, hb], 1))], 1)


class MotifModel(torch.nn.Module):
    def __init__(self, pfm: np.ndarray, thr_frac: float = 0.6, weight: float = 1.5):
        super().__init__()
        llr = np.log((pfm + 0.01) / (1.04 * 0.25))
        k = np.stack([llr, llr[::-1, ::-1]])
        self.register_buffer("k", torch.tensor(k.copy(), dtype=torch.float32))
        self.thr = float(thr_frac * llr.max(axis=0).sum())
        self.w = weight

    def f(self, x):
        s = torch.nn.functional.conv1d(x, self.k)
        return self.w * torch.nn.functional.softplus(2 * (s - self.thr)).sum((1, 2)) / 2

    def forward(self, xa, xb):
        fa, fb = self.f(xa), self.f(xb)
        return torch.stack([fa, fb, fa - fb], 1)


def random_pair(n, length, seed=0):
    rng = np.random.default_rng(seed)
    xa = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, length))].transpose(0, 2, 1).copy()
    xb = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, length))].transpose(0, 2, 1).copy()
    xb[0, :, -5:] = 0.0      # 3' padding
    xa[1, :, 10] = 0.25      # an N
    return xa, xb


# --- attributions --------------------------------------------------------------------------------
def brute_force_ism(model, xa, xb, target=2):
    ref = A.predict(model, xa, xb)[:, target]
    out = [np.zeros(xa.shape), np.zeros(xb.shape)]
    for i in range(len(xa)):
        for k in range(2):
            x = (xa, xb)[k][i]
            for p in range(x.shape[1]):
                if x[:, p].sum() == 0:
                    continue
                for b in range(4):
                    m = x.copy()
                    m[:, p] = 0
                    m[b, p] = 1
                    pa = m[None] if k == 0 else xa[i:i + 1]
                    pb = xb[i:i + 1] if k == 0 else m[None]
                    out[k][i, b, p] = A.predict(model, pa, pb)[0, target] - ref[i]
    return out


@pytest.mark.parametrize("batch_size", [7, 4096])
def test_ism_matches_brute_force_loop(batch_size):
    xa, xb = random_pair(2, 14, seed=1)
    model = SmallConv()
    raw = A.ism(model, xa, xb, batch_size=batch_size, centered=False)
    bf = brute_force_ism(model, xa, xb)
    np.testing.assert_allclose(raw.a, bf[0], atol=2e-5)
    np.testing.assert_allclose(raw.b, bf[1], atol=2e-5)
    # 0 at the reference base of one-hot columns, 0 on padding
    ref_cols = xa[0] == 1
    assert np.all(raw.a[0][ref_cols] == 0)
    assert np.all(raw.b[0][:, -5:] == 0)
    cen = A.ism(model, xa, xb, batch_size=batch_size)
    np.testing.assert_allclose(cen.a, A.center(bf[0], xa), atol=2e-5)
    np.testing.assert_allclose(cen.a.sum(axis=1), 0, atol=1e-5)


def test_tism_equals_ism_on_linear_model():
    xa, xb = random_pair(4, 40, seed=2)
    model = LinearPaired(40)
    ism = A.ism(model, xa, xb, batch_size=64)
    tism = A.tism(model, xa, xb, batch_size=3)
    np.testing.assert_allclose(tism.a, ism.a, atol=1e-5)
    np.testing.assert_allclose(tism.b, ism.b, atol=1e-5)
    # and the analytic answer: W - mean_b W (allele B enters with a minus sign)
    wa = model.wa.detach().numpy()
    want = wa - wa.mean(axis=0, keepdims=True)
    np.testing.assert_allclose(ism.a[2], want, atol=1e-5)
    wb = -model.wb.detach().numpy()
    np.testing.assert_allclose(ism.b[1], wb - wb.mean(axis=0, keepdims=True), atol=1e-5)
    assert np.all(ism.b[0][:, -5:] == 0) and np.all(tism.b[0][:, -5:] == 0)


def test_tism_approximates_ism_on_nonlinear_model():
    xa, xb = random_pair(3, 60, seed=3)
    model = SmallConv()
    ism, tism = A.ism(model, xa, xb), A.tism(model, xa, xb)
    r = np.corrcoef(ism.a.ravel(), tism.a.ravel())[0, 1]
    assert r > 0.5
    assert not np.allclose(ism.a, tism.a, atol=1e-4)  # a real non-linear model: not identical


# --- variants ------------------------------------------------------------------------------------
def test_align_alleles_snv_insertion_deletion():
    a = "ACGTACGTTTGACCAGGTCA"
    b = "ACGAACGTGACCAGGTTTCA"     # SNV at 3, TT deleted at 7-8, TT inserted after A's 17
    idx, vs = V.align_alleles(a, b)
    kinds = [(v.kind, v.start_a, v.end_a, v.start_b, v.end_b, v.seq_a, v.seq_b) for v in vs]
    assert kinds[0] == ("snv", 3, 4, 3, 4, "T", "A")
    assert kinds[1][0] == "deletion" and kinds[1][5] == "TT" and kinds[1][3] == kinds[1][4]
    assert kinds[2][0] == "insertion" and kinds[2][6] == "TT" and kinds[2][1] == kinds[2][2]
    # B's version of each variant put into A: the sequence is edited and re-padded / trimmed
    xa, xb = onehot([a]), onehot([b])
    want = [a[:3] + "A" + a[4:], a[:7] + a[9:], a[:kinds[2][1]] + "TT" + a[kinds[2][1]:]]
    for v, w in zip(vs, want):
        got = V.insert_variant(xa[0], xb[0], (v.start_a, v.end_a), (v.start_b, v.end_b))
        np.testing.assert_array_equal(got, onehot([w[:20]])[0] if len(w) >= 20 else
                                      np.concatenate([onehot([w])[0], np.zeros((4, 20 - len(w)), np.float32)], 1))
    assert V.align_alleles(a, a)[1] == []
    # N columns and terminal overhangs are not variants
    assert V.align_alleles("ACGTNACGTACGTAAAC", "ACGTTACGTACGTAAAC")[1] == []


def test_variant_effects_on_linear_model_are_exact():
    length = 30
    model = LinearPaired(length, seed=4)
    rng = np.random.default_rng(5)
    a = "".join(rng.choice(BASES, length))
    b = list(a)
    b[5] = "A" if a[5] != "A" else "C"
    b[20] = "G" if a[20] != "G" else "T"
    b = "".join(b)
    xa, xb = onehot([a]), onehot([b])
    _, vs = V.align_alleles(a, b)
    da, db, eff = V.variant_effects(model, xa, xb, [vs])
    wa, wb = model.wa.detach().numpy(), model.wb.detach().numpy()
    ia = {c: i for i, c in enumerate("ACGT")}
    for j, v in enumerate(vs):
        p = v.start_a
        want_a = wa[ia[v.seq_b], p] - wa[ia[v.seq_a], p]
        want_b = -(wb[ia[v.seq_a], p] - wb[ia[v.seq_b], p])
        assert da[0][j] == pytest.approx(want_a, abs=1e-5)
        assert db[0][j] == pytest.approx(want_b, abs=1e-5)
    # additive model with one weight matrix for both alleles: the variant effects add up to the
    # predicted ratio minus the ratio of identical alleles
    with torch.no_grad():
        model.wb.copy_(model.wa)
    _, _, eff = V.variant_effects(model, xa, xb, [vs])
    pred = A.predict(model, xa, xb)[0, 2]
    pred_same = A.predict(model, xa, xa)[0, 2]
    assert eff[0].sum() == pytest.approx(pred - pred_same, abs=1e-4)


def test_trusted_loci():
    meas = np.array([2.0, -2.0, 2.0, 0.5, np.nan, 3.0])
    pred = np.array([1.0, -1.0, -1.0, 1.0, 1.0, 0.01])
    got = V.trusted_loci(meas, pred, min_abs_z=1.0)
    assert got.tolist() == [True, True, False, False, False, False]


# --- seqlets -------------------------------------------------------------------------------------
def test_find_runs_rules():
    r = np.array([0, 3, 3, 0, 3, 3, 0, 0, 0, 3, 3, 3, -3, -3, -3, -3, 0], dtype=float)
    # a failing base with a strong neighbourhood is tolerated; 3 significant bases are too few;
    # the opposite-sign run is its own seqlet
    assert S.find_runs(r) == [(1, 6, 1), (12, 16, -1)]
    r2 = np.array([3, 3, 0, 0, 3, 3, 3, 3], dtype=float)   # two consecutive gaps split the run
    assert S.find_runs(r2) == [(4, 8, 1)]
    r3 = np.array([3, 3, 0.5, 3, 3], dtype=float)          # one weak gap base allowed
    assert S.find_runs(r3) == [(0, 5, 1)]


def test_similarity_reverse_complement_and_offset():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(4, 8))
    shifted = np.concatenate([rng.normal(size=(4, 2)), m], axis=1)
    r, off, strand, span = S.best_alignment(m, S.revcomp(shifted))
    assert r > 0.8 and strand == -1
    r, off, strand, span = S.best_alignment(m, shifted)
    assert strand == 1 and off == -2 and span == 10
    R, P = S.similarity([m, shifted, rng.normal(size=(4, 6))])
    assert P[0, 1] < 1e-6 and P[0, 2] > P[0, 1]
    np.testing.assert_allclose(R, R.T)
    # p-value from r: t distribution with n - 2 df, as scipy's pearsonr
    from scipy import stats

    x, y = rng.normal(size=40), rng.normal(size=40) + np.linspace(0, 3, 40)
    res = stats.pearsonr(x + y, y)
    assert S.correlation_pvalue(np.array([res.statistic]), np.array([40]))[0] == pytest.approx(res.pvalue, rel=1e-6)


def test_cwm_to_pfm_steps():
    cwm = np.zeros((4, 5))
    cwm[0, 1], cwm[2, 2], cwm[3, 3] = 3, 3, 3
    pfm = S.cwm_to_pfm(cwm, strip=0.1)
    np.testing.assert_allclose(pfm.sum(axis=0), 1, atol=1e-9)
    assert S.consensus(pfm) in ("AAGTA", "AGT") or S.consensus(pfm)[1:4] == "AGT"
    assert np.allclose(np.round(pfm, 3), pfm, atol=1e-3)


# --- planted motif: end to end through the library --------------------------------------------------
@pytest.fixture(scope="module")
def planted():
    from allelekit.cnn.motifs import load_jaspar

    db = load_jaspar()
    spi1 = next(m for m in db if m.motif_id == SPI1)
    rng = np.random.default_rng(7)
    n, length = 100, 120
    model = MotifModel(spi1.pfm, weight=2.0)
    seq_a, seq_b, causal = [], [], []
    w = spi1.pfm.shape[1]
    info = 2 + (spi1.pfm * np.log2(spi1.pfm + 1e-9)).sum(axis=0)
    key = np.argsort(-info)[:3]
    for i in range(n):
        a = rng.choice(BASES, length)
        pos = int(rng.integers(5, length - w - 5))
        site = np.array([rng.choice(BASES, p=spi1.pfm[:, c]) if info[c] < 1 else BASES[np.argmax(spi1.pfm[:, c])]
                         for c in range(w)])
        if i % 2:
            site = np.array(["ACGT"[3 - "ACGT".index(c)] for c in site[::-1]])
            kp = pos + w - 1 - int(rng.choice(key))
        else:
            kp = pos + int(rng.choice(key))
        a[pos:pos + w] = site
        b = a.copy()
        # in 30% of the loci a causal SNV breaks a key base of the site in B; 2 background SNVs
        if i % 10 < 3:
            b[kp] = rng.choice([c for c in "ACGT" if c != a[kp]])
        else:
            kp = -1
        for p in rng.choice([p for p in range(length) if not pos - 2 <= p < pos + w + 2], 2, replace=False):
            b[p] = rng.choice([c for c in "ACGT" if c != a[p]])
        sa, sb = "".join(a), "".join(b)
        if i % 5 == 0:   # a 2-bp deletion far from the site in a fifth of the loci
            dp = 2 if pos > 20 else length - 10
            sb = sb[:dp] + sb[dp + 2:] + "".join(rng.choice(BASES, 2))
        if i % 10 == 2:  # the site broken in A instead (no deletion in these loci)
            sa, sb = sb, sa
        seq_a.append(sa)
        seq_b.append(sb)
        causal.append(kp)
    xa, xb = onehot(seq_a), onehot(seq_b)
    pred = A.predict(model, xa, xb)
    counts_a = np.round(20 * np.exp(pred[:, 0]))
    counts_b = np.round(20 * np.exp(pred[:, 1]))
    return dict(db=db, model=model, seq_a=seq_a, seq_b=seq_b, xa=xa, xb=xb, causal=np.array(causal), pred=pred,
                measured=V.measured_log_ratio(counts_a, counts_b))


def test_planted_main_variant_is_causal(planted):
    p = planted
    variants = [V.align_alleles(a, b)[1] for a, b in zip(p["seq_a"], p["seq_b"])]
    _, _, eff = V.variant_effects(p["model"], p["xa"], p["xb"], variants)
    trusted = V.trusted_loci(p["measured"], p["pred"][:, 2])
    assert trusted.sum() >= 15 and np.all(p["causal"][trusted] >= 0)
    hit = [variants[i][int(np.argmax(np.abs(eff[i])))].start_a == p["causal"][i] for i in np.nonzero(trusted)[0]]
    assert np.mean(hit) >= 0.8


def test_planted_motif_recovered_by_seqlets_clusters_and_tomtom(planted):
    from allelekit.cnn.motifs import tomtom_matches

    p = planted
    att = A.tism(p["model"], p["xa"], p["xb"])
    za, zb, _ = S.normalize_attributions(att.a, att.b)
    seqlets = S.call_seqlets(za, zb, p["xa"], p["xb"])
    assert len(seqlets) >= 40
    # seqlets of allele A sit on the planted sites
    labels = S.cluster_seqlets([s.matrix for s in seqlets], pvalue=0.05, seed=0)
    top = np.nonzero(labels == 0)[0]
    assert len(top) >= 20
    cwm, offs, strands = S.cluster_cwm([seqlets[i].matrix for i in top])
    assert set(np.unique(strands)) == {-1, 1}   # both orientations were planted and aligned
    pfm = S.cwm_to_pfm(cwm)
    m = tomtom_matches({"0": pfm}, p["db"], top=4)
    assert len(m) and m["qvalue"].iloc[0] < 0.05
    assert SPI1 in set(m.loc[m["qvalue"] < 0.05, "motif_id"])


def test_meandiff_finds_planted_motif(planted):
    from allelekit.cnn import meandiff as MD

    p = planted
    db = tuple(m for m in p["db"] if m.motif_id in (SPI1, "MA0139.1", "MA0099.3", "MA0004.1", "MA0079.4"))
    delta = MD.delta_scores(db, p["xa"], p["xb"])
    res = MD.meandiff(db, delta, p["measured"])
    row = res.set_index("motif_id").loc[SPI1]
    assert row["meandiff_qvalue"] < 0.05 and row["meandiff_t"] > 0
    assert row["pearson_r"] > 0.3


def test_logos_render(tmp_path, planted):
    from allelekit.cnn import logos

    pfm = planted["db"][0].pfm
    logos.plot_cluster(tmp_path / "c.png", pfm - 0.25, pfm, "test", pfm, "match")
    att = A.tism(planted["model"], planted["xa"][:1], planted["xb"][:1])
    logos.plot_locus(tmp_path / "l.png", att.a[0], att.b[0], planted["xa"][0], planted["xb"][0],
                     variants_a=[(3, 4), (10, 10)], variants_b=[(3, 4), (10, 12)], main=0, title="x")
    for f in ("c.png", "l.png"):
        assert (tmp_path / f).read_bytes()[:4] == b"\x89PNG"
    ic = logos.information_content(np.array([[1.0, 0.25], [0, 0.25], [0, 0.25], [0, 0.25]]))
    np.testing.assert_allclose(ic.sum(axis=0), [2.0, 0.0], atol=1e-9)


def test_cluster_seqlets_recovers_prototypes_with_and_without_subsampling():
    rng = np.random.default_rng(0)
    protos = [rng.normal(size=(4, 8)) for _ in range(3)]
    mats, truth = [], []
    for k, b in enumerate(protos):
        for j in range(25):
            m = b + 0.3 * rng.normal(size=b.shape)
            if j % 3 == 0:
                m = S.revcomp(m)                                      # some on the other strand
            if j % 4 == 0:
                m = np.concatenate([rng.normal(size=(4, 2)), m], 1)   # some with a flank
            mats.append(m)
            truth.append(k)
    truth = np.array(truth)
    for kw in ({}, {"max_seqlets": 30, "min_size": 10}):
        lab = S.cluster_seqlets(mats, seed=1, **kw)
        for k in range(3):   # each prototype is one cluster, and clusters do not mix prototypes
            got = lab[truth == k]
            assert len(set(got)) == 1 and got[0] >= 0
        assert len(set(lab)) == 3
    cwm, offs, strands = S.cluster_cwm([m for m, t in zip(mats, truth) if t == 0])
    r, _, _, _ = S.best_alignment(cwm, protos[0])
    assert r > 0.95


def test_cwm_flanks_keep_weak_context_that_seqlet_spans_miss():
    """A 6-bp core with weak, consistent context (+1 A on the left, +1 T on the right) that only a
    quarter of the significant runs reach: without flanks the context columns are dropped by the
    coverage rule; with flanks from the attribution tracks every member contributes them."""
    rng = np.random.default_rng(3)
    core = np.full((4, 6), -0.5)
    core[[0, 1, 2, 3, 0, 1], range(6)] = 3.0                     # ACGTAC
    L, n = 60, 40
    z = 0.05 * rng.normal(size=(n, 4, L))
    x = np.zeros((n, 4, L))
    x[:, 0, :] = 1.0
    seqlets, starts = [], rng.integers(5, 40, size=n)
    for i, st in enumerate(starts):
        z[i, :, st:st + 6] += core
        z[i, 0, st - 1] += 1.0                                     # weak context A before the core
        z[i, 3, st + 6] += 1.0                                     # and T after it
        reach = i % 4 == 0                                         # a quarter of the runs include it
        s0, e0 = (st - 1, st + 7) if reach else (st, st + 6)
        seqlets.append(S.Seqlet(i, 0, int(s0), int(e0), 1, z[i, :, s0:e0].astype(np.float32), 6, 3.0, 3.0))
    mats = [q.matrix for q in seqlets]
    bare, _, _ = S.cluster_cwm(mats)
    assert bare.shape[1] == 6                                      # context columns lost
    wins = [S.seqlet_window(z, x, q, 2) for q in seqlets]
    assert all(w.shape[1] == q.end - q.start + 4 for w, q in zip(wins, seqlets))
    cwm, offs, strands = S.cluster_cwm(mats, windows=wins, flank=2)
    r, o, st, _ = S.best_alignment(cwm, core)
    assert r > 0.95 and st == 1 and cwm.shape[1] >= 8
    assert cwm[0, o - 1] > 0.8 and cwm[3, o + 6] > 0.8           # the context is in the CWM
    # every member's core starts where the core sits in the CWM frame
    for q, off, sgn in zip(seqlets, offs, strands):
        assert off + (1 if q.end - q.start == 8 else 0) == o and sgn == 1
    # windows: zero past the sequence's end and sign-adjusted
    x[0, :, 58:] = 0.0
    w = S.seqlet_window(z, x, S.Seqlet(0, 0, 54, 58, -1, z[0, :, 54:58], 4, 1.0, 1.0), 3)
    assert w.shape == (4, 10) and np.all(w[:, 7:] == 0)
    np.testing.assert_allclose(w[:, :7], -z[0, :, 51:58])
    with pytest.raises(ValueError, match="widened"):
        S.cluster_cwm(mats, windows=mats, flank=2)


def test_meme_roundtrip_and_jaspar_db(tmp_path):
    from allelekit.cnn.motifs import bh, load_jaspar, read_meme, write_meme
    from allelekit.errors import AllelekitError

    db = load_jaspar()
    assert len(db) == 746                                  # JASPAR 2020 CORE vertebrates non-redundant
    ids = {m.motif_id: m for m in db}
    assert ids[SPI1].name == "SPI1" and "Ets" in ids[SPI1].family
    write_meme({m.motif_id: m.pfm for m in db[:3]}, tmp_path / "x.meme", {m.motif_id: m.name for m in db[:3]})
    back = read_meme(tmp_path / "x.meme")
    assert [m.motif_id for m in back] == [m.motif_id for m in db[:3]]
    np.testing.assert_allclose(back[0].pfm, db[0].pfm, atol=2e-3)
    (tmp_path / "bad.meme").write_text("hello\n")
    with pytest.raises(AllelekitError, match="no motifs"):
        read_meme(tmp_path / "bad.meme")
    from scipy.stats import false_discovery_control

    p = np.array([[0.01, 0.04, 0.03, 0.5], [0.2, 0.001, np.nan, 0.9]])
    q = bh(p, axis=1)
    np.testing.assert_allclose(q[0], false_discovery_control(p[0]))
    np.testing.assert_allclose(q[1, [0, 1, 3]], false_discovery_control(p[1, [0, 1, 3]]))
    assert np.isnan(q[1, 2])
