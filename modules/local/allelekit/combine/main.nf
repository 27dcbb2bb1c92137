process ALLELEKIT_COMBINE {
    tag "${meta.id}"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'docker://ghcr.io/allelekit/allelekit:0.1.0' :
        'ghcr.io/allelekit/allelekit:0.1.0' }"

    input:
    tuple val(meta), path(pvalues)              // meta.id = group, meta.samples = its samples
    tuple val(meta2), path(fit)                 // model_params for the report's fit plots, or [] for none

    output:
    tuple val(meta), path("*.combined.parquet"), emit: combined
    tuple val(meta), path("*.significant.bed") , emit: bed
    tuple val(meta), path("*_report")          , emit: report
    tuple val("${task.process}"), val('allelekit'), eval('allelekit-combine --version | sed "s/^allelekit-combine //"'), emit: versions_allelekit, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args    = task.ext.args ?: ''
    def prefix  = task.ext.prefix ?: "${meta.id}"
    def fit_arg   = fit ? "--fit ${fit}" : ''
    def group_arg = meta.samples ? "--group ${meta.id}=${meta.samples.join(',')}" : ''
    """
    allelekit-combine \\
        --input ${pvalues} \\
        ${group_arg} \\
        ${fit_arg} \\
        --output ${prefix}.combined.parquet \\
        --bed ${prefix}.significant.bed \\
        --report ${prefix}_report \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.combined.parquet
    touch ${prefix}.significant.bed
    mkdir -p ${prefix}_report
    touch ${prefix}_report/index.html
    """
}
