process ALLELEKIT_CNN_ATTRIBUTE {
    tag "${meta.id}"
    label 'process_high'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'docker://ghcr.io/allelekit/allelekit:0.1.0' :
        'ghcr.io/allelekit/allelekit:0.1.0' }"

    input:
    tuple val(meta), path(model), path(dataset) // checkpoint from ALLELEKIT_CNN_TRAIN and the loci to explain

    output:
    tuple val(meta), path("*_attribution")                                , emit: results
    tuple val(meta), path("*_attribution/variant_effects.parquet")        , emit: variant_effects
    tuple val(meta), path("*_attribution/motif_matches.parquet")          , emit: motif_matches, optional: true
    tuple val("${task.process}"), val('allelekit'), eval('allelekit-cnn-attribute --version | sed "s/^allelekit-cnn-attribute //"'), emit: versions_allelekit, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args   = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    allelekit-cnn-attribute \\
        --model ${model} \\
        --dataset ${dataset} \\
        --output ${prefix}_attribution \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    mkdir -p ${prefix}_attribution
    touch ${prefix}_attribution/variant_effects.parquet
    """
}
