/*
========================================================================================
    CNN: per sample, region allele counts -> paired-allele dataset -> train -> attribute
========================================================================================
    Each sample (e.g. one F1 cross) gets its own model, as in DeepAllele.
*/

include { ALLELEKIT_COUNT         } from '../modules/local/allelekit/count/main'
include { ALLELEKIT_CNN_DATASET   } from '../modules/local/allelekit/cnn_dataset/main'
include { ALLELEKIT_CNN_TRAIN     } from '../modules/local/allelekit/cnn_train/main'
include { ALLELEKIT_CNN_ATTRIBUTE } from '../modules/local/allelekit/cnn_attribute/main'

workflow CNN {

    take:
    ch_samples      // channel: [ val(meta), path(bam), path(bai) ]
    ch_fasta        // channel: [ val(meta), path(fasta), path(fai) ]
    ch_vcf          // channel: [ val(meta), path(vcf), path(tbi) ]   phased genotypes
    regions         // path: loci BED (peaks)

    main:
    // 1. Allele counts per region and haplotype (hap1 = allele A, hap2 = allele B) of each sample.
    ALLELEKIT_COUNT ( ch_samples, ch_vcf, regions, [] )

    // 2. Dataset per sample: both alleles' sequences around each region, with their counts.
    ALLELEKIT_CNN_DATASET ( ALLELEKIT_COUNT.out.region_counts, ch_fasta, ch_vcf, regions )

    // 3. Train the paired-allele CNN (held-out contigs, epochs and seed via ext.args).
    ALLELEKIT_CNN_TRAIN ( ALLELEKIT_CNN_DATASET.out.dataset )

    // 4. Explain the predictions: attributions, variant effects, seqlets and motif matches.
    ALLELEKIT_CNN_ATTRIBUTE ( ALLELEKIT_CNN_TRAIN.out.model.join(ALLELEKIT_CNN_DATASET.out.dataset) )

    emit:
    dataset     = ALLELEKIT_CNN_DATASET.out.dataset        // channel: [ val(meta), path(dataset.parquet) ]
    model       = ALLELEKIT_CNN_TRAIN.out.model            // channel: [ val(meta), path(model.pt) ]
    metrics     = ALLELEKIT_CNN_TRAIN.out.metrics          // channel: [ val(meta), path(metrics.parquet) ]
    attribution = ALLELEKIT_CNN_ATTRIBUTE.out.results      // channel: [ val(meta), path(attribution dir) ]
}
