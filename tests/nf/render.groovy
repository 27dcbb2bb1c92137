// Render the script: and stub: sections of Nextflow modules the way a task would see them, without
// a Nextflow runtime (used by tests/test_nextflow_modules.py; run with the Groovy 4 jar of npm-groovy-lint).
//
//   java -cp "node_modules/npm-groovy-lint/lib/java/groovy/lib/*" groovy.ui.GroovyMain \
//        tests/nf/render.groovy request.json  > rendered.json
//
// 1. params: the `params { }` blocks of the listed config files (nextflow.config, then a profile's
//    config such as conf/test.config), merged in order, then the request's overrides.
// 2. task.ext.*: conf/modules.config read with ConfigSlurper (`withName: 'X' { ... }` parses as a
//    block named X); the process-level defaults, then every selector whose regex matches the process
//    name, in file order; closures are called with params, meta and task in scope, as Nextflow does.
// 3. The section text is evaluated as Groovy code with task, meta and the inputs bound: file inputs are
//    bound to their staged names (a list renders blank-separated, as Nextflow's file lists do);
//    {"__param__": NAME, "suffix": S} stands for the name of the file params.NAME points at, + S.
// Prints {"<id>": {"script": ..., "stub": ..., "ext": {...}}, "_params": {...}, "_params_by_file": {...}}
// as JSON (params with null values are kept: a null default is a declared param).
import groovy.json.JsonOutput
import groovy.json.JsonSlurper

// A list of staged files: renders blank-separated in a GString (like Nextflow's BlankSeparatedList),
// false when empty (an absent optional input is []). Not a Collection, so GStrings call toString().
class BlankList {
    List items
    BlankList(Collection c) { items = new ArrayList(c) }
    String toString() { items.join(' ') }
    boolean asBoolean() { !items.isEmpty() }
    def methodMissing(String name, args) { items.invokeMethod(name, args) }
}

def req = new JsonSlurper().parse(new File(args[0]))
def root = new File(req.root as String)

// --- params -------------------------------------------------------------------------------------
String paramsBlocks(String text) {
    // every top-level `params { ... }` block, found by brace matching outside strings and comments
    def out = new StringBuilder()
    def m = (text =~ /(?m)^\s*params\s*\{/)
    while (m.find()) {
        int i = m.end(), depth = 1
        char quote = 0
        while (i < text.length() && depth > 0) {
            char c = text.charAt(i)
            if (quote) {
                if (c == '\\' as char) { i += 2; continue }
                if (c == quote) quote = 0
            } else if (c == '"' as char || c == '\'' as char) {
                quote = c
            } else if (text.startsWith('//', i)) {
                int nl = text.indexOf('\n', i); i = nl < 0 ? text.length() : nl; continue
            } else if (c == '{' as char) depth++
            else if (c == '}' as char) depth--
            i++
        }
        out << text.substring(m.start(), i) << '\n'
    }
    return out.toString()
}

def binding = [projectDir: root.absolutePath, baseDir: root.absolutePath, launchDir: root.absolutePath]
def plain(m) { m.collectEntries { k, v -> [k, v instanceof GString ? v.toString() : v] } }
def merged = new ConfigObject()
def perFile = [:]
req.config_files.each { f ->
    def slurper = new ConfigSlurper()
    slurper.setBinding(binding + [params: merged.params ?: [:]])
    def cfg = slurper.parse(paramsBlocks(new File(root, f as String).text))
    perFile[f] = plain(cfg.params ?: [:])
    merged.merge(cfg)
}
def params = [:]
(merged.params ?: [:]).each { k, v -> params[k] = v }
req.params.each { k, v -> params[k] = v }

// --- task.ext from modules.config ---------------------------------------------------------------
def slurper = new ConfigSlurper()
slurper.setBinding(binding + [params: params])
def modcfg = slurper.parse(new File(root, req.modules_config as String).text)
def processCfg = modcfg.process ?: new ConfigObject()

Map extFor(String processName, ConfigObject processCfg) {
    def ext = [:]
    if (processCfg.containsKey('ext')) ext.putAll(processCfg.ext)
    processCfg.each { k, v ->
        // like Nextflow, a selector matches the simple name or the fully qualified one (WORKFLOW:PROCESS)
        if (k != 'ext' && v instanceof ConfigObject && (processName ==~ k || processName.tokenize(':')[-1] ==~ k)) {
            if (v.containsKey('ext')) ext.putAll(v.ext)
        }
    }
    return ext
}

def evalExt(Map ext, Map ctx) {
    def out = [:]
    ext.each { k, v ->
        if (v instanceof Closure) {
            def c = v.clone()
            c.delegate = ctx
            c.resolveStrategy = Closure.DELEGATE_FIRST
            v = c.call()
        }
        out[k] = v instanceof GString ? v.toString() : v
    }
    return out
}

def bindValue(v, Map params) {
    // {"__param__": "vcf", "suffix": ".tbi"}: the staged name of the file that params.vcf points at (+ suffix)
    if (v instanceof Map && v.containsKey('__param__')) {
        def p = params[v.__param__]
        return p ? new File(p.toString()).name + (v.suffix ?: '') : new BlankList([])
    }
    if (v instanceof List) return new BlankList(v.collect { bindValue(it, params) })
    if (v == null || v == '') return new BlankList([])
    return v
}

def result = [:]
req.requests.each { r ->
    def mod = new File(root, r.module as String).text
    def sections = [:]
    def order = []
    String current = null
    mod.readLines().each { line ->
        def m = (line =~ /^\s*(input|output|when|script|shell|exec|stub):\s*$/)
        if (m.matches()) { current = m.group(1); sections[current] = []; order << current }
        else if (current) sections[current] << line
    }
    // the last section ends at the process's closing brace
    if (order) {
        def lines = sections[order[-1]]
        int last = lines.findLastIndexOf { it.trim() == '}' }
        if (last >= 0) sections[order[-1]] = lines.subList(0, last)
    }
    def meta = r.meta ?: [:]
    def task = [cpus: r.cpus ?: 1, attempt: 1, index: 1, process: r.process, name: "${r.process} (${meta.id})".toString()]
    // r.process may be fully qualified (CNN:ALLELEKIT_COUNT): selectors see both forms
    def ext = evalExt(extFor(r.process as String, processCfg), [params: params, meta: meta, task: task])
    task.ext = ext
    def out = [ext: ext]
    ['script', 'stub'].each { s ->
        if (!sections[s]) { out[s] = null; return }
        def b = new Binding()
        b.setVariable('task', task)
        b.setVariable('meta', meta)
        b.setVariable('params', params)
        r.inputs.each { k, v -> b.setVariable(k, bindValue(v, params)) }
        out[s] = new GroovyShell(b).evaluate(sections[s].join('\n')).toString()
    }
    result[r.id] = out
}
result._params = plain(params)
result._params_by_file = perFile
println JsonOutput.prettyPrint(JsonOutput.toJson(result))
