/*
========================================================================================
    ALLELIC_IMBALANCE: count -> fit -> test -> combine per group (with report)
========================================================================================
*/

include { ALLELEKIT_COUNT   } from '../modules/local/allelekit/count/main'
include { ALLELEKIT_FIT     } from '../modules/local/allelekit/fit/main'
include { ALLELEKIT_TEST    } from '../modules/local/allelekit/test/main'
include { ALLELEKIT_COMBINE } from '../modules/local/allelekit/combine/main'
include { PARQUET_CONCAT    } from '../modules/local/parquet/concat/main'
include { tabixContigs      } from '../subworkflows/local/utils_allelekit/main'

workflow ALLELIC_IMBALANCE {

    take:
    ch_samples      // channel: [ val(meta), path(bam), path(bai) ]   meta = [id: sample, group: group]
    ch_vcf          // channel: [ val(meta), path(vcf), path(tbi) ]   genotypes of all samples
    regions         // path: regions BED, or [] for none
    bad             // path: BAD segments BED, or [] for none
    scatter         // string: 'none' (one count task per sample) or 'contig' (per sample and contig group)
    scatter_size    // int: contigs per count task when scatter == 'contig'

    main:
    // 1. Count ref/alt fragments at the heterozygous SNVs of each sample: one task per sample, or, with
    //    scatter 'contig', one per sample and group of scatter_size contigs (the contigs of the VCF's
    //    tabix index: those with records), merged back into one table per sample.
    if (scatter == 'contig') {
        ch_count_in = ch_samples
            .combine( ch_vcf.map { meta, vcf, tbi -> [ tabixContigs(tbi).collate(scatter_size as int) ] } )
            .flatMap { meta, bam, bai, groups ->
                groups.withIndex().collect { contigs, i ->
                    [ meta + [contigs: contigs, part: i + 1, parts: groups.size()], bam, bai ]
                }
            }
    } else {
        ch_count_in = ch_samples
    }
    ALLELEKIT_COUNT ( ch_count_in, ch_vcf, regions, bad )

    if (scatter == 'contig') {
        // each sample's pieces, concatenated in contig-group order: [ meta + [table: ...], [parts] ]
        ch_pieces = ALLELEKIT_COUNT.out.counts.map { meta, table -> [ meta, 'counts', table ] }
            .mix( ALLELEKIT_COUNT.out.region_counts.map { meta, table -> [ meta, 'region_counts', table ] } )
            .map { meta, name, table ->
                def sample = meta.findAll { k, v -> !(k in ['contigs', 'part', 'parts']) }
                [ groupKey(sample + [table: name], meta.parts), meta.part, table ]
            }
            .groupTuple()
            .map { key, parts, tables -> [ key.getGroupTarget(), [parts, tables].transpose().sort { it[0] }.collect { it[1] } ] }
        PARQUET_CONCAT ( ch_pieces )
        ch_merged        = PARQUET_CONCAT.out.table.map { meta, table -> [ meta.table, meta.findAll { k, v -> k != 'table' }, table ] }
        ch_counts        = ch_merged.filter { name, meta, table -> name == 'counts' }.map { name, meta, table -> [ meta, table ] }
        ch_region_counts = ch_merged.filter { name, meta, table -> name == 'region_counts' }.map { name, meta, table -> [ meta, table ] }
    } else {
        ch_counts        = ALLELEKIT_COUNT.out.counts
        ch_region_counts = ALLELEKIT_COUNT.out.region_counts
    }

    // 2. Fit the null mixture model once, on the counts of all samples together.
    ch_all_counts = ch_counts
        .map { meta, counts -> counts }
        .collect()
        .map { counts -> [ [id: 'all'], counts ] }
    ALLELEKIT_FIT ( ch_all_counts )
    ch_fit = ALLELEKIT_FIT.out.model_params.first()

    // 3. Per-observation p-values: one task per sample, all against the same fit.
    ALLELEKIT_TEST ( ch_counts, ch_fit )

    // 4. Combine the p-values of each group's samples, FDR, calls, BED track and HTML report.
    ch_groups = ALLELEKIT_TEST.out.pvalues
        .map { meta, pvalues -> [ meta.group, meta.id, pvalues ] }
        .groupTuple()
        .map { group, samples, pvalues -> [ [id: group, samples: samples.unique().sort()], pvalues.sort { it.name } ] }
    ALLELEKIT_COMBINE ( ch_groups, ch_fit )

    emit:
    counts        = ch_counts                           // channel: [ val(meta), path(counts.parquet) ]
    region_counts = ch_region_counts                    // channel: [ val(meta), path(region_counts.parquet) ]
    fit           = ch_fit                              // channel: [ val(meta), path(fit.parquet) ]
    pvalues       = ALLELEKIT_TEST.out.pvalues          // channel: [ val(meta), path(pvalues.parquet) ]
    combined      = ALLELEKIT_COMBINE.out.combined      // channel: [ val(meta), path(combined.parquet) ]
    bed           = ALLELEKIT_COMBINE.out.bed           // channel: [ val(meta), path(significant.bed) ]
    report        = ALLELEKIT_COMBINE.out.report        // channel: [ val(meta), path(report dir) ]
}
