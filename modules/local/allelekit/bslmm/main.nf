process ALLELEKIT_BSLMM {
    tag "${meta.id}"
    label 'process_high'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'docker://ghcr.io/allelekit/allelekit:0.1.0' :
        'ghcr.io/allelekit/allelekit:0.1.0' }"

    input:
    tuple val(meta), val(genes)                 // one chunk: meta.id = chunk name, genes = 'g1,g2,...'
    tuple val(meta2), path(vcf), path(tbi)      // genotypes of the expression samples
    path expression                             // expression matrix, genes x samples (TSV or Parquet)
    path annotation                             // gene TSS annotation (BED, GTF or TSV)

    output:
    tuple val(meta), path("*_bslmm")                    , emit: results
    tuple val(meta), path("*_bslmm/hyper.parquet")      , emit: hyper
    tuple val(meta), path("*_bslmm/weights.parquet")    , emit: weights    , optional: true
    tuple val(meta), path("*_bslmm/predictions.parquet"), emit: predictions, optional: true
    tuple val("${task.process}"), val('allelekit'), eval('allelekit-bslmm --version | sed "s/^allelekit-bslmm //"'), emit: versions_allelekit, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args   = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    allelekit-bslmm \\
        --vcf ${vcf} \\
        --expression ${expression} \\
        --annotation ${annotation} \\
        --genes ${genes} \\
        --output ${prefix}_bslmm \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    mkdir -p ${prefix}_bslmm
    touch ${prefix}_bslmm/hyper.parquet
    touch ${prefix}_bslmm/weights.parquet
    touch ${prefix}_bslmm/predictions.parquet
    """
}
