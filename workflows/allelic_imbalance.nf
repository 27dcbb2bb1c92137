/*
========================================================================================
    ALLELIC_IMBALANCE: count -> fit -> test -> combine per group (with report)
========================================================================================
*/

include { ALLELEKIT_COUNT   } from '../modules/local/allelekit/count/main'
include { ALLELEKIT_FIT     } from '../modules/local/allelekit/fit/main'
include { ALLELEKIT_TEST    } from '../modules/local/allelekit/test/main'
include { ALLELEKIT_COMBINE } from '../modules/local/allelekit/combine/main'

workflow ALLELIC_IMBALANCE {

    take:
    ch_samples      // channel: [ val(meta), path(bam), path(bai) ]   meta = [id: sample, group: group]
    ch_vcf          // channel: [ val(meta), path(vcf), path(tbi) ]   genotypes of all samples
    regions         // path: regions BED, or [] for none
    bad             // path: BAD segments BED, or [] for none

    main:
    // 1. Count ref/alt fragments at the heterozygous SNVs of each sample: one task per sample.
    //    (Scattering per contig needs a contig selection option in allelekit-count; see docs/nextflow.md.)
    ALLELEKIT_COUNT ( ch_samples, ch_vcf, regions, bad )

    // 2. Fit the null mixture model once, on the counts of all samples together.
    ch_all_counts = ALLELEKIT_COUNT.out.counts
        .map { meta, counts -> counts }
        .collect()
        .map { counts -> [ [id: 'all'], counts ] }
    ALLELEKIT_FIT ( ch_all_counts )
    ch_fit = ALLELEKIT_FIT.out.model_params.first()

    // 3. Per-observation p-values: one task per sample, all against the same fit.
    ALLELEKIT_TEST ( ALLELEKIT_COUNT.out.counts, ch_fit )

    // 4. Combine the p-values of each group's samples, FDR, calls, BED track and HTML report.
    ch_groups = ALLELEKIT_TEST.out.pvalues
        .map { meta, pvalues -> [ meta.group, meta.id, pvalues ] }
        .groupTuple()
        .map { group, samples, pvalues -> [ [id: group, samples: samples.unique().sort()], pvalues.sort { it.name } ] }
    ALLELEKIT_COMBINE ( ch_groups, ch_fit )

    emit:
    counts        = ALLELEKIT_COUNT.out.counts          // channel: [ val(meta), path(counts.parquet) ]
    region_counts = ALLELEKIT_COUNT.out.region_counts   // channel: [ val(meta), path(region_counts.parquet) ]
    fit           = ch_fit                              // channel: [ val(meta), path(fit.parquet) ]
    pvalues       = ALLELEKIT_TEST.out.pvalues          // channel: [ val(meta), path(pvalues.parquet) ]
    combined      = ALLELEKIT_COMBINE.out.combined      // channel: [ val(meta), path(combined.parquet) ]
    bed           = ALLELEKIT_COMBINE.out.bed           // channel: [ val(meta), path(significant.bed) ]
    report        = ALLELEKIT_COMBINE.out.report        // channel: [ val(meta), path(report dir) ]
}
