process ALLELEKIT_FIT {
    tag "${meta.id}"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'docker://ghcr.io/allelekit/allelekit:0.1.0' :
        'ghcr.io/allelekit/allelekit:0.1.0' }"

    input:
    tuple val(meta), path(counts)               // allele_counts tables of all samples fitted together

    output:
    tuple val(meta), path("*.fit.parquet"), emit: model_params
    tuple val("${task.process}"), val('allelekit'), eval('allelekit-fit --version | sed "s/^allelekit-fit //"'), emit: versions_allelekit, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args   = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    allelekit-fit \\
        --input ${counts} \\
        --output ${prefix}.fit.parquet \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.fit.parquet
    """
}
