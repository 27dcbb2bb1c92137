process ALLELEKIT_CNN_TRAIN {
    tag "${meta.id}"
    label 'process_high'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'docker://ghcr.io/allelekit/allelekit:0.1.0' :
        'ghcr.io/allelekit/allelekit:0.1.0' }"

    input:
    tuple val(meta), path(dataset)              // cnn_dataset table

    output:
    tuple val(meta), path("*.pt")             , emit: model
    tuple val(meta), path("*.metrics.parquet"), emit: metrics
    tuple val(meta), path("*.predictions.parquet"), emit: predictions
    tuple val("${task.process}"), val('allelekit'), eval('allelekit-cnn-train --version | sed "s/^allelekit-cnn-train //"'), emit: versions_allelekit, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args   = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    allelekit-cnn-train \\
        --dataset ${dataset} \\
        --output ${prefix}.pt \\
        --metrics ${prefix}.metrics.parquet \\
        --predictions ${prefix}.predictions.parquet \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.pt
    touch ${prefix}.metrics.parquet
    touch ${prefix}.predictions.parquet
    """
}
