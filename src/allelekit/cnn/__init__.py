"""Paired-allele CNNs (DeepAllele-style) and their baselines.

* :mod:`allelekit.cnn.data`: one-hot encoding, targets, leave-chromosome-out splits, metrics.
* :mod:`allelekit.cnn.models`: the paired model, the direct-ratio variant, single-input baselines,
  presets, and the checkpoint format (``save_checkpoint`` / ``load_checkpoint``).
* :mod:`allelekit.cnn.dataset`: the training-set builder (FASTA + phased VCF + regions + counts, or
  two FASTAs).
* :mod:`allelekit.cnn.train`: the training loop and held-out evaluation.
* :mod:`allelekit.cnn.synthetic`: a synthetic F1-hybrid benchmark with planted JASPAR motifs.

torch is imported by ``models`` and ``train`` only; ``data`` and ``dataset`` need numpy/pysam.
"""
