process ALLELEKIT_CNN_DATASET {
    tag "${meta.id}"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'docker://ghcr.io/allelekit/allelekit:0.1.0' :
        'ghcr.io/allelekit/allelekit:0.1.0' }"

    input:
    tuple val(meta), path(counts)               // region_counts of one sample (hap1/hap2 counts per region)
    tuple val(meta2), path(fasta), path(fai)    // reference genome
    tuple val(meta3), path(vcf), path(tbi)      // phased genotypes: the two alleles' sequences
    path regions                                // the regions counted (peaks BED)

    output:
    tuple val(meta), path("*.dataset.parquet"), emit: dataset
    tuple val("${task.process}"), val('allelekit'), eval('allelekit-cnn-train --version | sed "s/^allelekit-cnn-train //"'), emit: versions_allelekit, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args   = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    allelekit-cnn-train \\
        --build-dataset \\
        --fasta ${fasta} \\
        --vcf ${vcf} \\
        --sample ${meta.id} \\
        --regions ${regions} \\
        --counts ${counts} \\
        --output ${prefix}.dataset.parquet \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.dataset.parquet
    """
}
