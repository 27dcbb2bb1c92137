/*
========================================================================================
    BSLMM: genes in chunks -> allelekit-bslmm per chunk -> merged weights, hyper, predictions
========================================================================================
*/

include { ALLELEKIT_BSLMM } from '../modules/local/allelekit/bslmm/main'
include { PARQUET_CONCAT  } from '../modules/local/parquet/concat/main'

workflow BSLMM {

    take:
    ch_vcf          // channel: [ val(meta), path(vcf), path(tbi) ]   genotypes of the expression samples
    expression      // path: expression matrix, genes x samples (TSV: first column = gene id)
    annotation      // path: gene TSS annotation (BED, GTF or TSV)
    genes           // path: gene ids, one per line, or [] for every gene of the expression TSV
    chunk_size      // int: genes per task

    main:
    // 1. Gene ids, in chunks of chunk_size: chunk_1 = 'g1,g2,...'
    if (genes) {
        ch_gene_ids = channel.fromPath(genes).splitText().map { line -> line.trim() }
    } else {
        ch_gene_ids = channel.fromPath(expression).splitCsv(sep: '\t', skip: 1).map { row -> row[0].trim() }
    }
    ch_chunks = ch_gene_ids
        .filter { id -> id }
        .collate(chunk_size)
        .toList()
        .flatMap { chunks -> chunks.withIndex().collect { ids, i -> [ [id: "chunk_${i + 1}"], ids.join(',') ] } }

    // 2. Fit each chunk's genes.
    ALLELEKIT_BSLMM ( ch_chunks, ch_vcf, expression, annotation )

    // 3. Concatenate the chunks of each table: bslmm_weights, bslmm_hyper, bslmm_predictions.
    ch_tables = ALLELEKIT_BSLMM.out.weights.map { meta, table -> [ 'bslmm_weights', table ] }
        .mix( ALLELEKIT_BSLMM.out.hyper.map { meta, table -> [ 'bslmm_hyper', table ] } )
        .mix( ALLELEKIT_BSLMM.out.predictions.map { meta, table -> [ 'bslmm_predictions', table ] } )
        .groupTuple()
        .map { name, tables -> [ [id: name], tables ] }
    PARQUET_CONCAT ( ch_tables )

    emit:
    weights     = PARQUET_CONCAT.out.table.filter { meta, table -> meta.id == 'bslmm_weights' }
    hyper       = PARQUET_CONCAT.out.table.filter { meta, table -> meta.id == 'bslmm_hyper' }
    predictions = PARQUET_CONCAT.out.table.filter { meta, table -> meta.id == 'bslmm_predictions' }
}
