process ALLELEKIT_TEST {
    tag "${meta.id}"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'docker://ghcr.io/allelekit/allelekit:0.1.0' :
        'ghcr.io/allelekit/allelekit:0.1.0' }"

    input:
    tuple val(meta), path(counts)               // allele_counts of one sample
    tuple val(meta2), path(fit)                 // model_params from ALLELEKIT_FIT

    output:
    tuple val(meta), path("*.pvalues.parquet"), emit: pvalues
    tuple val("${task.process}"), val('allelekit'), eval('allelekit-test --version | sed "s/^allelekit-test //"'), emit: versions_allelekit, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args   = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    allelekit-test \\
        --input ${counts} \\
        --params ${fit} \\
        --output ${prefix}.pvalues.parquet \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.pvalues.parquet
    """
}
