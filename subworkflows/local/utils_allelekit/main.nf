/*
========================================================================================
    PIPELINE_INITIALISATION: check params, read the samplesheet
    PIPELINE_COMPLETION:     software versions of every task
========================================================================================
*/

include { validateParameters; paramsSummaryLog; samplesheetToList } from 'plugin/nf-schema'

workflow PIPELINE_INITIALISATION {

    take:
    input           // string: path of the samplesheet CSV (sample,bam,bai,group), or null

    main:
    if (params.validate_params) {
        validateParameters()
    }
    log.info paramsSummaryLog(workflow)

    // Samplesheet rows, checked against assets/schema_input.json. Relative paths are relative to
    // the samplesheet's folder; bai defaults to <bam>.bai.
    ch_samples = channel.empty()
    if (input) {
        def sheet = file(input, checkIfExists: true)
        def rows  = samplesheetToList(sheet, "${projectDir}/assets/schema_input.json")
        def seen  = [] as Set
        ch_samples = channel.fromList(rows.collect { row ->
            def (sample, bam, bai, group) = row
            if (!seen.add(sample)) {
                error("Samplesheet ${sheet}: sample '${sample}' appears more than once")
            }
            def bam_file = resolveSheetPath(sheet, bam)
            def bai_file = bai ? resolveSheetPath(sheet, bai) : file("${bam_file}.bai", checkIfExists: true)
            [ [id: sample, group: group ?: 'all'], bam_file, bai_file ]
        })
    }

    emit:
    samples = ch_samples    // channel: [ val(meta), path(bam), path(bai) ]
}

workflow PIPELINE_COMPLETION {

    take:
    outdir          // string: results folder

    main:
    // Every module emits (process, tool, version) into the 'versions' topic.
    channel.topic('versions')
        .map { process, tool, version -> "${process.tokenize(':')[-1]}:\n    ${tool}: ${version}" }
        .unique()
        .collectFile(name: 'allelekit_software_versions.yml', storeDir: "${outdir}/pipeline_info", sort: true, newLine: true)

    workflow.onComplete {
        log.info(workflow.success
            ? "allelekit: done, results in ${outdir}"
            : "allelekit: failed; see .nextflow.log and the work directory of the failed task")
    }
}

/*
    A samplesheet path: absolute, a URL, or relative to the samplesheet's folder.
*/
def resolveSheetPath(sheet, String path) {
    def isRemote = path ==~ /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/.*/
    def target   = (isRemote || path.startsWith('/')) ? path : sheet.parent.resolve(path).toString()
    return file(target, checkIfExists: true)
}

/*
    Contig names of a tabix index (.tbi), in the index's order: only the contigs that have records,
    so a scatter never makes tasks for empty contigs (decoys, alts) of a long ##contig header.
    A .tbi is BGZF (concatenated gzip members): magic 'TBI\1', 8 little-endian int32 (n_ref, format,
    col_seq, col_beg, col_end, meta, skip, l_nm), then l_nm bytes of NUL-terminated names.
*/
def tabixContigs(tbi) {
    def path   = tbi instanceof java.nio.file.Path ? tbi : java.nio.file.Paths.get(tbi.toString())
    def stream = new java.util.zip.GZIPInputStream(java.nio.file.Files.newInputStream(path))
    try {
        byte[] head = stream.readNBytes(36)
        if (head.length < 36 || new String(head, 0, 4, 'ISO-8859-1') != 'TBI\u0001') {
            throw new IllegalArgumentException("${tbi}: not a tabix index (.tbi); index the VCF with 'tabix -p vcf'")
        }
        def buf   = java.nio.ByteBuffer.wrap(head).order(java.nio.ByteOrder.LITTLE_ENDIAN)
        int nRef  = buf.getInt(4)
        int lNm   = buf.getInt(32)
        def names = new String(stream.readNBytes(lNm), 'UTF-8').tokenize('\u0000')
        if (names.size() != nRef) {
            throw new IllegalArgumentException("${tbi}: truncated tabix index (${names.size()} of ${nRef} contig names)")
        }
        return names
    } finally {
        stream.close()
    }
}
