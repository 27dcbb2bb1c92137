process PARQUET_CONCAT {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'docker://ghcr.io/allelekit/allelekit:0.1.0' :
        'ghcr.io/allelekit/allelekit:0.1.0' }"

    input:
    tuple val(meta), path(tables, stageAs: 'in?/*') // Parquet tables with one schema; in1/, in2/...: names may repeat

    output:
    tuple val(meta), path("*.parquet"), emit: table
    tuple val("${task.process}"), val('pyarrow'), eval('python3 -c "import pyarrow; print(pyarrow.__version__)"'), emit: versions_pyarrow, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def prefix = task.ext.prefix ?: "${meta.id}"
    // Rows in natural order of the staged paths (in2/ before in10/); schema and metadata of the first table.
    """
    python3 - ${prefix}.parquet ${tables} <<'PYEOF'
import os, re, sys
import pyarrow as pa, pyarrow.parquet as pq
out, *paths = sys.argv[1:]
natural = lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\\d+)", p)]
table = pa.concat_tables([pq.read_table(p) for p in sorted(paths, key=natural)])
pq.write_table(table, out + ".tmp", compression="zstd")
os.replace(out + ".tmp", out)
PYEOF
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.parquet
    """
}
