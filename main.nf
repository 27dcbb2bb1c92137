#!/usr/bin/env nextflow
/*
========================================================================================
    allelekit: allele-specific analysis of sequencing data
========================================================================================
    nextflow run <repo> -profile <docker|singularity|conda|slurm|awsbatch|k8s>,test --outdir results
    nextflow run <repo> -profile docker --input samplesheet.csv --vcf variants.vcf.gz --outdir results

    --workflow picks the analyses (comma-separated):
      allelic_imbalance  samplesheet BAMs -> count per sample (--count_scatter contig: per
                         sample and contig group, then merged) -> fit on all
                         -> test -> combine per group (BED track + HTML report)
      bslmm              genes (--genes, or all of --expression) in chunks of --bslmm_chunk_size
                         -> bslmm per chunk -> merged weights, hyper-parameters, predictions
      cnn                per sample: region counts (--regions) + --fasta + phased --vcf
                         -> dataset -> train -> attribute
----------------------------------------------------------------------------------------
*/

include { PIPELINE_INITIALISATION } from './subworkflows/local/utils_allelekit/main'
include { PIPELINE_COMPLETION     } from './subworkflows/local/utils_allelekit/main'
include { ALLELIC_IMBALANCE       } from './workflows/allelic_imbalance'
include { BSLMM                   } from './workflows/bslmm'
include { CNN                     } from './workflows/cnn'

workflow {

    main:
    def selected = params.workflow.tokenize(',')*.trim()
    def unknown  = selected - ['allelic_imbalance', 'bslmm', 'cnn']
    if (!(params.count_scatter in ['none', 'contig'])) {
        error("Unknown --count_scatter ${params.count_scatter}: use none or contig")
    }
    if (unknown) {
        error("Unknown --workflow ${unknown.join(',')}: use allelic_imbalance, bslmm and/or cnn")
    }
    def missing = []
    if (!params.vcf)                                                                   { missing << '--vcf' }
    if (!params.input && ('allelic_imbalance' in selected || 'cnn' in selected))       { missing << '--input' }
    if ('cnn' in selected && !params.fasta)                                            { missing << '--fasta (cnn)' }
    if ('cnn' in selected && !params.regions)                                          { missing << '--regions (cnn)' }
    if ('bslmm' in selected && !params.expression)                                     { missing << '--expression (bslmm)' }
    if ('bslmm' in selected && !params.annotation)                                     { missing << '--annotation (bslmm)' }
    if (missing) {
        error("Missing parameters for --workflow ${params.workflow}: ${missing.join(', ')}")
    }

    // Samplesheet (sample, bam, bai, group) and parameter checks
    PIPELINE_INITIALISATION ( params.input )
    ch_samples = PIPELINE_INITIALISATION.out.samples

    // Shared references: each a [ meta, file, index ] tuple, or [] for optional BED files
    ch_vcf   = params.vcf   ? channel.value([ [id: 'vcf'], file(params.vcf, checkIfExists: true), file("${params.vcf}.tbi", checkIfExists: true) ]) : channel.empty()
    ch_fasta = params.fasta ? channel.value([ [id: 'fasta'], file(params.fasta, checkIfExists: true), file("${params.fasta}.fai", checkIfExists: true) ]) : channel.empty()
    regions  = params.regions ? file(params.regions, checkIfExists: true) : []
    bad      = params.bad     ? file(params.bad, checkIfExists: true)     : []

    // Allelic imbalance of each sample, then of each group
    if ('allelic_imbalance' in selected) {
        ALLELIC_IMBALANCE ( ch_samples, ch_vcf, regions, bad, params.count_scatter, params.count_scatter_size )
    }

    // Expression prediction weights per gene
    if ('bslmm' in selected) {
        BSLMM (
            ch_vcf,
            file(params.expression, checkIfExists: true),
            file(params.annotation, checkIfExists: true),
            params.genes ? file(params.genes, checkIfExists: true) : [],
            params.bslmm_chunk_size
        )
    }

    // Paired-allele CNN and its explanations
    if ('cnn' in selected) {
        CNN ( ch_samples, ch_fasta, ch_vcf, regions )
    }

    PIPELINE_COMPLETION ( params.outdir )
}
