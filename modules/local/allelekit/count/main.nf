process ALLELEKIT_COUNT {
    tag "${meta.id}"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'docker://ghcr.io/allelekit/allelekit:0.1.0' :
        'ghcr.io/allelekit/allelekit:0.1.0' }"

    input:
    tuple val(meta), path(bam), path(bai)       // one sample (meta.id = VCF sample name)
    tuple val(meta2), path(vcf), path(tbi)      // genotypes, bgzipped + indexed
    path regions                                // peaks BED, or [] for none
    path bad                                    // BAD segments BED, or [] for none

    output:
    tuple val(meta), path("*.counts.parquet")       , emit: counts
    tuple val(meta), path("*.region_counts.parquet"), emit: region_counts, optional: true
    tuple val("${task.process}"), val('allelekit'), eval('allelekit-count --version | sed "s/^allelekit-count //"'), emit: versions_allelekit, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args       = task.ext.args ?: ''
    def prefix     = task.ext.prefix ?: "${meta.id}"
    def region_arg = regions ? "--regions ${regions} --region-output ${prefix}.region_counts.parquet" : ''
    def bad_arg    = bad ? "--bad ${bad}" : ''
    """
    allelekit-count \\
        --bam ${bam} \\
        --vcf ${vcf} \\
        --sample ${meta.id} \\
        ${region_arg} \\
        ${bad_arg} \\
        --output ${prefix}.counts.parquet \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.counts.parquet
    ${regions ? "touch ${prefix}.region_counts.parquet" : ''}
    """
}
