// Copied verbatim from ../shared/engines/nfsyntax.groovy (allelekit project, ENGINES.md: "Groovy 4 syntax check").
// Kept in the repository so the test does not depend on the shared folder beside the clone.
// Syntax-only check of Nextflow DSL2 files with the plain Groovy parser (no Nextflow runtime).
import org.codehaus.groovy.control.*
int bad = 0
args.each { f ->
    def cu = new CompilationUnit(new CompilerConfiguration())
    cu.addSource(new File(f))
    try {
        cu.compile(Phases.CONVERSION)
    } catch (MultipleCompilationErrorsException e) {
        bad++
        def msg = e.errorCollector.errors.collect { it.cause?.message ?: it.toString() }.join('; ')
        println "FAIL ${f}: ${msg.replaceAll('\\s+', ' ').take(300)}"
    }
}
println "checked=${args.size()} failed=${bad}"
System.exit(bad ? 1 : 0)
