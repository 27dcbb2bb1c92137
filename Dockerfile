# allelekit: the image the Nextflow modules run in (profiles docker, singularity/apptainer, awsbatch, k8s).
#
#   docker build -t ghcr.io/allelekit/allelekit:0.1.0 .
#   nextflow run . -profile test,docker --outdir results
#
# The tag must match the `container` directive of modules/local/*/*/main.nf. Every allelekit-* command
# is installed on PATH (the package's [project.scripts]); the pipeline's bin/ shims find the installed
# package first, so tasks on cloud executors, where bin/ is copied without src/, work too.
FROM python:3.11-slim-bookworm

LABEL org.opencontainers.image.title="allelekit" \
      org.opencontainers.image.description="Allele-specific analysis of sequencing data: counting, mixture-model tests, BSLMM and paired-allele CNNs" \
      org.opencontainers.image.source="https://github.com/allelekit/allelekit" \
      org.opencontainers.image.licenses="MIT"

# procps: Nextflow reads task metrics with ps
RUN apt-get update \
    && apt-get install -y --no-install-recommends procps \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/allelekit
COPY pyproject.toml README.md ./
COPY src ./src

# CPU build of torch (the CNN commands use a GPU only when one is given with --device cuda)
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0" \
    && pip install --no-cache-dir . \
    && for c in count fit test combine bslmm cnn-train cnn-attribute; do "allelekit-$c" --version; done

ENV PYTHONNOUSERSITE=1 \
    MPLBACKEND=Agg \
    JAX_PLATFORMS=cpu

CMD ["allelekit-count", "--help"]
