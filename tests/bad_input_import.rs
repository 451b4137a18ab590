//! Bad input for `tidewater import`: every case is imported from a directory of its own (read
//! the way the CLI reads, `file()` confined to the module directory), in a thread with a
//! deadline, and must end with an error (or a warning) that names the file and the path — never
//! a crash, a hang, a stack overflow or an out-of-memory. Cases: `file()` escapes (absolute
//! paths, `~`, `..`, symlinks), FIFOs and devices, oversized and non-UTF-8 files, empty files,
//! nesting 10,000 deep, exponential expansions, reference cycles, huge lists, duplicate keys,
//! wrong types, CloudFormation dynamic references; a few through the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use tidewater::import::{self, Files, Options};

/// What a case's file holds.
enum Content {
    Text(String),
    Bytes(Vec<u8>),
    /// A symlink to this target (relative to the case directory's parent, or absolute).
    Symlink(String),
    Fifo,
    /// A sparse file of this size.
    Sparse(u64),
}

/// One case: files written under its directory, the inputs given (`-f`), and what must be
/// reported.
struct Case {
    name: String,
    files: Vec<(String, Content)>,
    /// Inputs relative to the case directory (absolute paths as they are); empty: the directory.
    inputs: Vec<String>,
    /// The reported item names a file ending in this...
    file: String,
    /// ...a path containing this...
    path: String,
    /// ...and a message containing this.
    message: String,
}

fn case(name: &str, files: Vec<(&str, Content)>, file: &str, path: &str, message: &str) -> Case {
    Case {
        name: name.into(),
        files: files.into_iter().map(|(f, c)| (f.to_string(), c)).collect(),
        inputs: Vec::new(),
        file: file.into(),
        path: path.into(),
        message: message.into(),
    }
}

fn text(s: &str) -> Content {
    Content::Text(s.to_string())
}

/// A Terraform module with one `main.tf`.
fn tf(name: &str, main: &str, path: &str, message: &str) -> Case {
    case(
        name,
        vec![("main.tf", text(main))],
        "main.tf",
        path,
        message,
    )
}

/// A CloudFormation template `stack.yaml`.
fn cfn(name: &str, template: &str, path: &str, message: &str) -> Case {
    case(
        name,
        vec![("stack.yaml", text(template))],
        "stack.yaml",
        path,
        message,
    )
}

/// A task definition whose container definitions come from `expr`.
fn tf_file(name: &str, expr: &str, message: &str) -> Case {
    tf(
        name,
        &format!(
            "resource \"aws_ecs_task_definition\" \"app\" {{\n  family = \"app\"\n  container_definitions = {expr}\n}}\n"
        ),
        "aws_ecs_task_definition.app.container_definitions",
        message,
    )
}

/// A reported item: (file, path, message).
type Reported = (String, String, String);

/// Everything an import reported: errors, notes and skipped resources.
fn import_dir(dir: &Path, inputs: &[String]) -> Vec<Reported> {
    let paths: Vec<PathBuf> = if inputs.is_empty() {
        vec![dir.to_path_buf()]
    } else {
        inputs.iter().map(|i| dir.join(i)).collect()
    };
    let files = import::collect_files(&paths).expect("the case directory lists");
    let (inputs, read_errors) = import::read_inputs(files);
    let opts = Options::default();
    let out = import::import_with(&inputs, &opts, Files::FileSystem);
    let mut reported: Vec<Reported> = read_errors
        .iter()
        .chain(&out.report.errors)
        .map(|e| (e.file().to_string(), e.path().to_string(), e.to_string()))
        .collect();
    for r in &out.report.resources {
        for n in &r.notes {
            let path = format!("{} {}", n.source, n.path);
            reported.push((r.source.file.clone(), path, n.message.clone()));
        }
    }
    for s in &out.report.skipped {
        reported.push((s.file.clone(), s.path.clone(), s.reason.clone()));
    }
    reported
}

fn root() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tidewater-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, content: &Content) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    match content {
        Content::Text(t) => std::fs::write(&path, t).unwrap(),
        Content::Bytes(b) => std::fs::write(&path, b).unwrap(),
        Content::Symlink(target) => {
            let target = if target.starts_with('/') {
                PathBuf::from(target)
            } else {
                dir.parent().unwrap().join(target)
            };
            std::os::unix::fs::symlink(target, &path).unwrap()
        }
        Content::Fifo => {
            let ok = Command::new("mkfifo").arg(&path).status().unwrap();
            assert!(ok.success(), "mkfifo");
        }
        Content::Sparse(n) => std::fs::File::create(&path).unwrap().set_len(*n).unwrap(),
    }
}

/// Run a case in a thread with a deadline; the reported items.
fn run(c: &Case, root: &Path) -> Result<Vec<Reported>, String> {
    let dir = root.join(&c.name);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, content) in &c.files {
        write(&dir, name, content);
    }
    let inputs = c.inputs.clone();
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::Builder::new()
        .name(c.name.clone())
        .stack_size(8 << 20)
        .spawn(move || {
            let _ = tx.send(import_dir(&dir, &inputs));
        })
        .unwrap();
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(r) => {
            worker.join().map_err(|_| "panicked".to_string())?;
            Ok(r)
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Err("did not finish in 120 s".into()),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err("crashed (panicked)".into()),
    }
}

fn deep(open: &str, close: &str, inner: &str, n: usize) -> String {
    format!("{}{inner}{}", open.repeat(n), close.repeat(n))
}

/// `file()` and `templatefile()` outside the module, and files that are not regular text.
fn file_cases() -> Vec<Case> {
    let refused = "read only files inside the module directory";
    let mut cases = vec![
        tf_file("tf-file-absolute", "file(\"/etc/passwd\")", "absolute path"),
        tf_file(
            "tf-file-home",
            "file(\"~/.aws/credentials\")",
            "home directory",
        ),
        tf_file("tf-file-dotdot", "file(\"../outside.json\")", "`..`"),
        tf_file(
            "tf-file-module-dotdot",
            "file(\"${path.module}/../outside.json\")",
            refused,
        ),
        tf_file(
            "tf-file-deep-dotdot",
            "file(\"a/b/../../../x.json\")",
            "`..`",
        ),
        tf_file("tf-file-dir", "file(\".\")", "module directory itself"),
        tf_file(
            "tf-templatefile-absolute",
            "templatefile(\"/etc/hosts\", {})",
            "absolute path",
        ),
        tf_file(
            "tf-templatefile-dotdot",
            "templatefile(\"../t.tpl\", {})",
            "`..`",
        ),
        tf_file(
            "tf-file-missing",
            "file(\"missing.json\")",
            "could not be read",
        ),
        tf_file(
            "tf-jsondecode-file-absolute",
            "jsonencode(jsondecode(file(\"/etc/passwd\")))",
            "absolute path",
        ),
    ];
    cases.extend(symlink_and_special_file_cases());
    cases
}

/// `file()` through symlinks out of the module, FIFOs, oversized, binary and self-including files.
fn symlink_and_special_file_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let symlinked = |name: &str, link: &str, target: &str, expr: &str, message: &str| {
        let mut c = tf_file(name, expr, message);
        c.files
            .push((link.to_string(), Content::Symlink(target.into())));
        c
    };
    std::fs::write(
        root().join("outside.json"),
        "[{\"name\":\"x\",\"image\":\"secret\"}]",
    )
    .unwrap();
    std::fs::create_dir_all(root().join("outside-dir")).unwrap();
    std::fs::write(root().join("outside-dir/x.json"), "[]").unwrap();
    cases.extend([
        symlinked(
            "tf-symlink-file",
            "link.json",
            "outside.json",
            "file(\"link.json\")",
            "through a symlink",
        ),
        symlinked(
            "tf-symlink-dir",
            "d",
            "outside-dir",
            "file(\"d/x.json\")",
            "through a symlink",
        ),
        symlinked(
            "tf-symlink-etc",
            "passwd",
            "/etc/passwd",
            "file(\"passwd\")",
            "through a symlink",
        ),
        symlinked(
            "tf-symlink-template",
            "t.tpl",
            "outside.json",
            "templatefile(\"t.tpl\", {})",
            "through a symlink",
        ),
    ]);
    let mut fifo = tf_file("tf-file-fifo", "file(\"pipe.json\")", "not a regular file");
    fifo.files.push(("pipe.json".into(), Content::Fifo));
    let mut big = tf_file(
        "tf-file-too-large",
        "file(\"big.json\")",
        "larger than the limit",
    );
    big.files
        .push(("big.json".into(), Content::Sparse(17 << 20)));
    let mut binary = tf_file("tf-file-not-utf8", "file(\"bin.json\")", "not valid UTF-8");
    binary.files.push((
        "bin.json".into(),
        Content::Bytes(vec![0xff, 0xfe, 0x00, 0x80]),
    ));
    let mut itself = tf_file(
        "tf-templatefile-includes-itself",
        "templatefile(\"t.tpl\", {})",
        "includes itself",
    );
    itself
        .files
        .push(("t.tpl".into(), text("${templatefile(\"t.tpl\", {})}")));
    let mut deep_template = tf_file(
        "tf-templatefile-deep",
        "templatefile(\"t.tpl\", {})",
        "nested deeper",
    );
    deep_template.files.push((
        "t.tpl".into(),
        text(&format!("${{{}}}", deep("(", ")", "1", 10_000))),
    ));
    cases.extend([fifo, big, binary, itself, deep_template]);
    cases
}

/// Inputs that are not regular files of UTF-8 text within the size limit, or are empty.
fn input_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut input = |name: &str, file: &str, content: Content, message: &str| {
        let mut c = case(name, vec![(file, content)], file, ".", message);
        c.inputs = vec![file.to_string()];
        cases.push(c);
    };
    input(
        "input-fifo-yaml",
        "stack.yaml",
        Content::Fifo,
        "not a regular file",
    );
    input(
        "input-fifo-tf",
        "main.tf",
        Content::Fifo,
        "not a regular file",
    );
    input(
        "input-too-large",
        "stack.yaml",
        Content::Sparse(17 << 20),
        "larger than the limit",
    );
    input(
        "input-too-large-tf",
        "main.tf",
        Content::Sparse(17 << 20),
        "larger than the limit",
    );
    input(
        "input-not-utf8-yaml",
        "stack.yaml",
        Content::Bytes(b"Resources: \xff\xfe".to_vec()),
        "not valid UTF-8",
    );
    input(
        "input-not-utf8-tf",
        "main.tf",
        Content::Bytes(b"locals { a = \"\xc3\x28\" }".to_vec()),
        "not valid UTF-8",
    );
    input(
        "input-not-utf8-json",
        "task.json",
        Content::Bytes(vec![b'{', 0x80, b'}']),
        "not valid UTF-8",
    );
    input("input-empty-yaml", "stack.yaml", text(""), "empty file");
    input(
        "input-blank-json",
        "task.json",
        text("  \n\t\n"),
        "empty file",
    );
    input("input-empty-tf", "main.tf", text(""), "empty file");
    input(
        "input-missing",
        "nothing.yaml",
        Content::Symlink("does-not-exist".into()),
        "No such file",
    );
    let mut dev = |name: &str, device: &str| {
        let mut c = case(name, vec![], device, ".", "not a regular file");
        c.inputs = vec![device.to_string()];
        cases.push(c);
    };
    dev("input-dev-zero", "/dev/zero");
    dev("input-dev-null", "/dev/null");
    dev("input-dev-urandom", "/dev/urandom");
    cases
}

/// Nesting 10,000 deep, exponential expansions, cycles and huge lists.
fn limit_cases() -> Vec<Case> {
    let nested = "brackets nested deeper than 64 levels";
    let mut cases = vec![
        tf(
            "tf-deep-list",
            &format!("locals {{ a = {} }}\n", deep("[", "]", "1", 10_000)),
            "line 1",
            nested,
        ),
        tf(
            "tf-deep-object",
            &format!("locals {{ a = {} }}\n", deep("{ b = ", " }", "1", 10_000)),
            "line 1",
            nested,
        ),
        tf(
            "tf-deep-parens",
            &format!("locals {{ a = {} }}\n", deep("(", ")", "1", 10_000)),
            "line 1",
            nested,
        ),
        tf(
            "tf-deep-calls",
            &format!(
                "locals {{ a = {} }}\n",
                deep("upper(", ")", "\"x\"", 10_000)
            ),
            "line 1",
            nested,
        ),
        cfn(
            "cfn-deep-json",
            &format!("{{\"Resources\": {}}}", deep("{\"a\": ", "}", "1", 10_000)),
            "line 1",
            nested,
        ),
        cfn(
            "cfn-deep-flow-yaml",
            &format!("Resources: {}\n", deep("[", "]", "1", 10_000)),
            "line 1",
            nested,
        ),
        cfn(
            "cfn-deep-join",
            &format!(
                "Resources:\n  T:\n    Type: AWS::ECS::Cluster\n    Properties:\n      ClusterName: {}\n",
                deep("{\"Fn::Join\": [\"\", [", "]]}", "x", 5_000)
            ),
            "line 5",
            nested,
        ),
        cfn(
            "cfn-deep-not",
            &format!(
                "Conditions:\n  C: {}\nResources: {{}}\n",
                deep("{\"Fn::Not\": [", "]}", "true", 10_000)
            ),
            "line 2",
            nested,
        ),
        case(
            "json-deep",
            vec![("task.json", text(&deep("[", "]", "1", 10_000)))],
            "task.json",
            "line 1",
            nested,
        ),
    ];
    cases.extend(expansion_cases());
    cases
}

/// Reference chains, exponential expansions, cycles and huge lists.
fn expansion_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    // A chain of 10,000 locals, each the next one.
    let chain: String = (0..10_000)
        .map(|i| format!("  l{i} = local.l{}\n", i + 1))
        .collect();
    cases.push(tf(
        "tf-local-chain",
        &format!("locals {{\n{chain}  l10000 = \"x\"\n}}\nresource \"aws_ecs_cluster\" \"c\" {{\n  name = local.l0\n}}\n"),
        "local.l",
        "nested deeper than 100 levels",
    ));
    // Each local doubles the previous one: 2^60 bytes if expanded.
    let doubling: String = (1..=40)
        .map(|i| format!("  l{i} = \"${{local.l{}}}${{local.l{}}}\"\n", i - 1, i - 1))
        .collect();
    cases.push(tf(
        "tf-exponential-string",
        &format!("locals {{\n  l0 = \"xxxxxxxxxxxxxxxx\"\n{doubling}}}\nresource \"aws_ecs_cluster\" \"c\" {{\n  name = local.l40\n}}\n"),
        "local.l",
        "bytes of values",
    ));
    let lists: String = (1..=40)
        .map(|i| format!("  l{i} = concat(local.l{}, local.l{})\n", i - 1, i - 1))
        .collect();
    cases.push(tf(
        "tf-exponential-list",
        &format!("locals {{\n  l0 = [\"x\"]\n{lists}}}\nresource \"aws_ecs_cluster\" \"c\" {{\n  name = join(\",\", local.l40)\n}}\n"),
        "local.l",
        "bytes of values",
    ));
    let formats: String = (1..=40)
        .map(|i| {
            format!(
                "  l{i} = format(\"%s%s\", local.l{}, local.l{})\n",
                i - 1,
                i - 1
            )
        })
        .collect();
    cases.push(tf(
        "tf-exponential-format",
        &format!("locals {{\n  l0 = \"ab\"\n{formats}}}\nresource \"aws_ecs_cluster\" \"c\" {{\n  name = local.l40\n}}\n"),
        "local.l",
        "bytes of values",
    ));
    cases.push(tf(
        "tf-local-cycle",
        "locals {\n  a = local.b\n  b = local.a\n}\nresource \"aws_ecs_cluster\" \"c\" {\n  name = local.a\n}\n",
        "aws_ecs_cluster.c",
        "refers to itself",
    ));
    cases.push(tf(
        "tf-local-self",
        "locals {\n  a = \"${local.a}-x\"\n}\nresource \"aws_ecs_cluster\" \"c\" {\n  name = local.a\n}\n",
        "aws_ecs_cluster.c",
        "refers to itself",
    ));
    cases.push(tf(
        "tf-variable-self",
        "variable \"v\" {\n  default = var.v\n}\nresource \"aws_ecs_cluster\" \"c\" {\n  name = var.v\n}\n",
        "aws_ecs_cluster.c",
        "refers to itself",
    ));
    cases.push(tf(
        "tf-resource-name-cycle",
        "resource \"aws_ecs_cluster\" \"a\" {\n  name = aws_ecs_cluster.b.name\n}\nresource \"aws_ecs_cluster\" \"b\" {\n  name = aws_ecs_cluster.a.name\n}\n",
        "aws_ecs_cluster.a",
        "known only once Terraform has applied it",
    ));
    cases.extend(huge_and_cloudformation_cases());
    cases
}

/// Huge lists, and CloudFormation expansions and cycles.
fn huge_and_cloudformation_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    // One item a line: a longer line is refused before parsing (see tf-overlong-line).
    let items = vec!["1"; 600_000].join(",\n");
    cases.push(tf(
        "tf-overlong-line",
        &format!("locals {{\n  x = \"{}\" +\n}}\n", "a".repeat(70_000)),
        "line 2",
        "Tidewater reads HCL lines of up to 60000 characters",
    ));
    cases.push(tf(
        "tf-huge-list",
        &format!("resource \"aws_ecs_cluster\" \"c\" {{\n  name = \"c\"\n  tags = {{ big = [{items}] }}\n}}\n"),
        "aws_ecs_cluster.c.tags",
        "more than 500000 steps",
    ));
    let template = format!(
        "Resources:\n  C:\n    Type: AWS::ECS::Cluster\n    Properties:\n      ClusterName: c\n      Tags: [{}]\n",
        vec!["{Key: k, Value: v}"; 200_000].join(",")
    );
    cases.push(cfn(
        "cfn-huge-list",
        &template,
        "Resources.C.Properties.Tags[",
        "more than 500000 steps",
    ));
    // Mappings whose entries join the previous one twice: exponential evaluation.
    let maps: String = (1..=25)
        .map(|i| format!("    L{i}: {{v: {{\"Fn::Join\": [\"\", [{{\"Fn::FindInMap\": [M, L{}, v]}}, {{\"Fn::FindInMap\": [M, L{}, v]}}]]}}}}\n", i - 1, i - 1))
        .collect();
    cases.push(cfn(
        "cfn-exponential-mappings",
        &format!("Mappings:\n  M:\n    L0: {{v: xx}}\n{maps}Resources:\n  C:\n    Type: AWS::ECS::Cluster\n    Properties:\n      ClusterName: {{\"Fn::FindInMap\": [M, L25, v]}}\n"),
        "Resources.C.Properties.ClusterName",
        "more than 500000 steps",
    ));
    cases.push(cfn(
        "cfn-mapping-cycle",
        "Mappings:\n  M:\n    A: {B: {\"Fn::FindInMap\": [M, A, B]}}\nResources:\n  C:\n    Type: AWS::ECS::Cluster\n    Properties:\n      ClusterName: {\"Fn::FindInMap\": [M, A, B]}\n",
        "Resources.C.Properties.ClusterName",
        "refers back to itself",
    ));
    cases.push(cfn(
        "cfn-condition-cycle",
        "Conditions:\n  A: {Condition: B}\n  B: {Condition: A}\nResources:\n  C:\n    Type: AWS::ECS::Cluster\n    Condition: A\n",
        "Resources.C.Condition",
        "could not be evaluated statically",
    ));
    cases.push(cfn(
        "cfn-ref-cycle",
        "Resources:\n  A:\n    Type: AWS::ECS::Cluster\n    Properties:\n      ClusterName: !GetAtt B.Arn\n  B:\n    Type: AWS::ECS::Cluster\n    Properties:\n      ClusterName: !GetAtt A.Arn\n",
        "Resources.",
        "exists only once the stack is deployed",
    ));
    cases
}

/// Duplicate keys, syntax errors and shapes the import does not know.
fn syntax_cases() -> Vec<Case> {
    let mut cases = syntax_cases_1();
    cases.extend(syntax_cases_2());
    cases
}

fn syntax_cases_1() -> Vec<Case> {
    vec![
        cfn(
            "cfn-duplicate-resource",
            "Resources:\n  A:\n    Type: AWS::ECS::Cluster\n  A:\n    Type: AWS::ECS::Cluster\n",
            "line 2",
            "duplicate entry with key \"A\"",
        ),
        cfn(
            "cfn-duplicate-property",
            "Resources:\n  A:\n    Type: AWS::ECS::Cluster\n    Properties:\n      ClusterName: a\n      ClusterName: b\n",
            "line 5",
            "duplicate entry with key \"ClusterName\"",
        ),
        case(
            "json-duplicate-key",
            vec![(
                "stack.json",
                text(
                    "{\"Resources\": {\"A\": {\"Type\": \"AWS::ECS::Cluster\"}, \"A\": {\"Type\": \"AWS::ECS::Cluster\"}}}",
                ),
            )],
            "stack.json",
            "line 1",
            "duplicate entry with key \"A\"",
        ),
        tf(
            "tf-duplicate-object-key",
            "resource \"aws_ecs_cluster\" \"c\" {\n  name = \"c\"\n  tags = { a = \"1\", a = \"2\" }\n}\n",
            "line 3",
            "given twice",
        ),
        tf(
            "tf-duplicate-attribute",
            "resource \"aws_ecs_cluster\" \"c\" {\n  name = \"c\"\n  name = \"d\"\n}\n",
            "line 3",
            "HCL",
        ),
        tf(
            "tf-syntax",
            "resource \"aws_ecs_cluster\" \"c\" {\n  name = \n}\n",
            "line",
            "HCL",
        ),
        tf(
            "tf-unclosed",
            "resource \"aws_ecs_cluster\" \"c\" {\n  name = \"c\"\n",
            "line",
            "HCL",
        ),
        cfn(
            "cfn-syntax",
            "Resources:\n  A: [\n",
            ".",
            "at line 3 column 1",
        ),
    ]
}

fn syntax_cases_2() -> Vec<Case> {
    vec![
        cfn(
            "cfn-tab-indent",
            "Resources:\n\tA:\n",
            ".",
            "at line 2 column 1",
        ),
        cfn(
            "cfn-resources-list",
            "AWSTemplateFormatVersion: '2010-09-09'\nResources: [a]\n",
            "Resources",
            "needs a Resources map",
        ),
        cfn(
            "cfn-no-type",
            "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  A: {Properties: {}}\n",
            "Resources.A.Type",
            "needs a Type",
        ),
        cfn(
            "cfn-properties-list",
            "Resources:\n  A:\n    Type: AWS::ECS::Cluster\n    Properties: [1]\n",
            "Resources.A.Properties",
            "must be a map",
        ),
        case(
            "json-syntax",
            vec![("task.json", text("{\"family\": "))],
            "task.json",
            ".",
            "at line 2 column 1",
        ),
        case(
            "json-scalar",
            vec![("task.json", text("42"))],
            "task.json",
            ".",
            "42 is not an object",
        ),
        case(
            "json-unknown-shape",
            vec![("task.json", text("{\"hello\": \"world\"}"))],
            "task.json",
            ".",
            "not a RegisterTaskDefinition",
        ),
        case(
            "tf-json-unsupported",
            vec![("main.tf.json", text("{}"))],
            "main.tf.json",
            ".",
            "not supported",
        ),
    ]
}

/// A CloudFormation task definition with one bad property.
fn cfn_td(name: &str, container: &str, task: &str, path: &str, message: &str) -> Case {
    cfn(
        name,
        &format!(
            "Resources:\n  Td:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      Family: web\n{task}      ContainerDefinitions:\n        - Name: web\n          Image: nginx\n{container}"
        ),
        &format!("Resources.Td.Properties{path}"),
        message,
    )
}

/// A Terraform service with one bad argument.
fn tf_service(name: &str, argument: &str, path: &str, message: &str) -> Case {
    tf(
        name,
        &format!(
            "resource \"aws_ecs_service\" \"web\" {{\n  name = \"web\"\n  task_definition = \"web:1\"\n  {argument}\n}}\n"
        ),
        &format!("aws_ecs_service.web{path}"),
        message,
    )
}

/// Values of the wrong type, enumerations out of range, missing required fields.
fn type_cases() -> Vec<Case> {
    let c0 = ".ContainerDefinitions[0]";
    let mut cases = Vec::new();
    cases.extend(type_cases_1());
    cases.extend(type_cases_2());
    cases.extend(type_cases_3());
    cases.extend(type_cases_4());
    cases.extend(type_cases_5());
    cases.extend(type_cases_6());
    // Dynamic references are secret references, never values (warnings naming the path).
    let dynamic = |name: &str, value: &str, message: &str| {
        cfn_td(
            name,
            &format!("          Environment: [{{Name: S, Value: \"{value}\"}}]\n"),
            "",
            c0,
            message,
        )
    };
    cases.extend([
        dynamic(
            "cfn-resolve-secretsmanager",
            "{{resolve:secretsmanager:db:SecretString:password}}",
            "a secret reference",
        ),
        dynamic(
            "cfn-resolve-ssm-secure",
            "{{resolve:ssm-secure:/app/token:2}}",
            "version 2 is not kept",
        ),
        dynamic(
            "cfn-resolve-ssm",
            "{{resolve:ssm:/app/url}}",
            "a secret reference (valueFrom `/app/url`)",
        ),
        dynamic(
            "cfn-resolve-embedded",
            "u:{{resolve:secretsmanager:db}}@h",
            "embeds a CloudFormation dynamic reference",
        ),
        dynamic(
            "cfn-resolve-unknown-service",
            "{{resolve:vault:db}}",
            "embeds a CloudFormation dynamic reference",
        ),
    ]);
    cases
}

fn type_cases_1() -> Vec<Case> {
    let c0 = ".ContainerDefinitions[0]";
    vec![
        cfn_td(
            "cfn-memory-word",
            "          Memory: lots\n",
            "",
            &format!("{c0}.Memory"),
            "is not an integer",
        ),
        cfn_td(
            "cfn-memory-float",
            "          Memory: 1.5\n",
            "",
            &format!("{c0}.Memory"),
            "is not an integer",
        ),
        cfn_td(
            "cfn-memory-list",
            "          Memory: [1]\n",
            "",
            &format!("{c0}.Memory"),
            "is not an integer",
        ),
        cfn_td(
            "cfn-cpu-object",
            "          Cpu: {a: 1}\n",
            "",
            &format!("{c0}.Cpu"),
            "is not an integer",
        ),
        cfn_td(
            "cfn-essential-maybe",
            "          Essential: maybe\n",
            "",
            &format!("{c0}.Essential"),
            "is not true or false",
        ),
        cfn_td(
            "cfn-essential-number",
            "          Essential: 2\n",
            "",
            &format!("{c0}.Essential"),
            "is not true or false",
        ),
        cfn_td(
            "cfn-port-word",
            "          PortMappings: [{ContainerPort: eighty}]\n",
            "",
            &format!("{c0}.PortMappings[0].ContainerPort"),
            "is not an integer",
        ),
        cfn_td(
            "cfn-port-protocol",
            "          PortMappings: [{ContainerPort: 80, Protocol: sctp}]\n",
            "",
            &format!("{c0}.PortMappings[0].Protocol"),
            "is not one of",
        ),
        cfn_td(
            "cfn-env-list-of-strings",
            "          Environment: [a, b]\n",
            "",
            &format!("{c0}.Environment[0]"),
            "is not an object",
        ),
        cfn_td(
            "cfn-env-object",
            "          Environment: {A: b}\n",
            "",
            &format!("{c0}.Environment.A"),
            "not a member",
        ),
    ]
}

fn type_cases_2() -> Vec<Case> {
    let c0 = ".ContainerDefinitions[0]";
    vec![
        cfn_td(
            "cfn-log-options-list",
            "          LogConfiguration: {LogDriver: awslogs, Options: [a]}\n",
            "",
            &format!("{c0}.LogConfiguration.Options"),
            "is not a map",
        ),
        cfn_td(
            "cfn-log-driver",
            "          LogConfiguration: {LogDriver: carrier-pigeon}\n",
            "",
            &format!("{c0}.LogConfiguration.LogDriver"),
            "is not one of",
        ),
        cfn_td(
            "cfn-ulimit-name",
            "          Ulimits: [{Name: bogus, SoftLimit: 1, HardLimit: 1}]\n",
            "",
            &format!("{c0}.Ulimits[0].Name"),
            "is not one of",
        ),
        cfn_td(
            "cfn-healthcheck-interval",
            "          HealthCheck: {Command: [CMD, x], Interval: often}\n",
            "",
            &format!("{c0}.HealthCheck.Interval"),
            "is not an integer",
        ),
        cfn_td(
            "cfn-network-mode",
            "",
            "      NetworkMode: carrier\n",
            ".NetworkMode",
            "is not one of",
        ),
        cfn_td(
            "cfn-compatibilities",
            "",
            "      RequiresCompatibilities: [MOON]\n",
            ".RequiresCompatibilities[0]",
            "is not one of",
        ),
        cfn_td(
            "cfn-volumes-string",
            "",
            "      Volumes: data\n",
            ".Volumes",
            "is not an object",
        ),
        cfn_td(
            "cfn-pid-mode",
            "",
            "      PidMode: everything\n",
            ".PidMode",
            "is not one of",
        ),
        cfn_td(
            "cfn-ipc-mode",
            "",
            "      IpcMode: everything\n",
            ".IpcMode",
            "is not one of",
        ),
        cfn(
            "cfn-memory-huge",
            "Resources:\n  Td:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      ContainerDefinitions: [{Name: a, Image: b, Memory: 99999999999999999999999}]\n",
            "line 5",
            "invalid type: integer",
        ),
    ]
}

fn type_cases_3() -> Vec<Case> {
    vec![
        cfn(
            "cfn-missing-image",
            "Resources:\n  Td:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      ContainerDefinitions: [{Name: web}]\n",
            "Resources.Td.Properties.ContainerDefinitions[0]",
            "missing required field `Image`",
        ),
        cfn(
            "cfn-missing-containers",
            "Resources:\n  Td:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      Family: web\n",
            "Resources.Td.Properties",
            "missing required field `ContainerDefinitions`",
        ),
        cfn(
            "cfn-service-desired-word",
            "Resources:\n  S:\n    Type: AWS::ECS::Service\n    Properties:\n      TaskDefinition: web:1\n      DesiredCount: several\n",
            "Resources.S.Properties.DesiredCount",
            "is not an integer",
        ),
        cfn(
            "cfn-service-launch-type",
            "Resources:\n  S:\n    Type: AWS::ECS::Service\n    Properties:\n      TaskDefinition: web:1\n      LaunchType: SPACESHIP\n",
            "Resources.S.Properties.LaunchType",
            "is not one of",
        ),
        cfn(
            "cfn-service-scheduling",
            "Resources:\n  S:\n    Type: AWS::ECS::Service\n    Properties:\n      TaskDefinition: web:1\n      SchedulingStrategy: SOMETIMES\n",
            "Resources.S.Properties.SchedulingStrategy",
            "is not one of",
        ),
        cfn(
            "cfn-service-public-ip",
            "Resources:\n  S:\n    Type: AWS::ECS::Service\n    Properties:\n      TaskDefinition: web:1\n      NetworkConfiguration: {AwsvpcConfiguration: {Subnets: [s], AssignPublicIp: MAYBE}}\n",
            "Resources.S.Properties.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp",
            "is not one of",
        ),
        cfn(
            "cfn-scaling-min-word",
            "Resources:\n  S:\n    Type: AWS::ECS::Service\n    Properties:\n      ServiceName: web\n      TaskDefinition: web:1\n  T:\n    Type: AWS::ApplicationAutoScaling::ScalableTarget\n    Properties:\n      ResourceId: service/c/web\n      ScalableDimension: ecs:service:DesiredCount\n      ServiceNamespace: ecs\n      MinCapacity: none\n      MaxCapacity: 2\n",
            "Resources.T.Properties.MinCapacity",
            "is not an integer",
        ),
        cfn(
            "cfn-rule-input-not-json",
            "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      ScheduleExpression: rate(1 hour)\n      Targets:\n        - Id: t\n          Arn: arn:aws:ecs:us-east-1:1:cluster/c\n          EcsParameters: {TaskDefinitionArn: web:1}\n          Input: \"{not json\"\n",
            "Resources.R.Properties.Targets[0].Input",
            "not JSON",
        ),
        cfn(
            "cfn-rule-count-word",
            "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      ScheduleExpression: rate(1 hour)\n      Targets:\n        - Id: t\n          Arn: arn:aws:ecs:us-east-1:1:cluster/c\n          EcsParameters: {TaskDefinitionArn: web:1, TaskCount: few}\n",
            "Resources.R.Properties.Targets[0].EcsParameters.TaskCount",
            "is not an integer",
        ),
        cfn(
            "cfn-association-no-cluster",
            "Resources:\n  A:\n    Type: AWS::ECS::ClusterCapacityProviderAssociations\n    Properties:\n      CapacityProviders: [FARGATE]\n      DefaultCapacityProviderStrategy: []\n",
            "Resources.A.Properties",
            "missing required field `Cluster`",
        ),
    ]
}

fn type_cases_4() -> Vec<Case> {
    vec![
        tf_service(
            "tf-desired-word",
            "desired_count = \"many\"",
            ".desired_count",
            "is not an integer",
        ),
        tf_service(
            "tf-desired-list",
            "desired_count = [1]",
            ".desired_count",
            "is not an integer",
        ),
        tf_service(
            "tf-launch-type",
            "launch_type = \"SPACESHIP\"",
            ".launch_type",
            "is not one of",
        ),
        tf_service(
            "tf-scheduling",
            "scheduling_strategy = \"SOMETIMES\"",
            ".scheduling_strategy",
            "is not one of",
        ),
        tf_service(
            "tf-propagate",
            "propagate_tags = \"EVERYTHING\"",
            ".propagate_tags",
            "is not one of",
        ),
        tf_service(
            "tf-health-grace",
            "health_check_grace_period_seconds = \"soon\"",
            ".health_check_grace_period_seconds",
            "is not an integer",
        ),
        tf_service(
            "tf-public-ip",
            "network_configuration {\n    subnets = [\"s\"]\n    assign_public_ip = \"MAYBE\"\n  }",
            ".network_configuration",
            "is not one of",
        ),
        tf_service(
            "tf-load-balancer-port",
            "load_balancer {\n    target_group_arn = \"arn:tg\"\n    container_name = \"web\"\n    container_port = \"http\"\n  }",
            ".load_balancer[0].container_port",
            "is not an integer",
        ),
        tf_service(
            "tf-placement-type",
            "ordered_placement_strategy {\n    type = \"anywhere\"\n  }",
            ".ordered_placement_strategy[0].type",
            "is not one of",
        ),
        tf_service(
            "tf-enable-execute",
            "enable_execute_command = \"perhaps\"",
            ".enable_execute_command",
            "is not true or false",
        ),
    ]
}

fn type_cases_5() -> Vec<Case> {
    vec![
        tf(
            "tf-container-definitions-not-json",
            "resource \"aws_ecs_task_definition\" \"app\" {\n  family = \"app\"\n  container_definitions = \"[{not json\"\n}\n",
            "aws_ecs_task_definition.app.container_definitions",
            "not JSON",
        ),
        tf(
            "tf-container-definitions-number",
            "resource \"aws_ecs_task_definition\" \"app\" {\n  family = \"app\"\n  container_definitions = 5\n}\n",
            "aws_ecs_task_definition.app",
            "is not an object",
        ),
        tf(
            "tf-cpu-list",
            "resource \"aws_ecs_task_definition\" \"app\" {\n  family = \"app\"\n  cpu = [1, 2]\n  container_definitions = jsonencode([{name = \"a\", image = \"b\"}])\n}\n",
            "aws_ecs_task_definition.app.cpu",
            "is not a string",
        ),
        tf(
            "tf-network-mode",
            "resource \"aws_ecs_task_definition\" \"app\" {\n  family = \"app\"\n  network_mode = \"carrier\"\n  container_definitions = jsonencode([{name = \"a\", image = \"b\"}])\n}\n",
            "aws_ecs_task_definition.app.network_mode",
            "is not one of",
        ),
        tf(
            "tf-container-memory-word",
            "resource \"aws_ecs_task_definition\" \"app\" {\n  family = \"app\"\n  container_definitions = jsonencode([{name = \"a\", image = \"b\", memory = \"lots\"}])\n}\n",
            "aws_ecs_task_definition.app.containerDefinitions[0].memory",
            "is not an integer",
        ),
        tf(
            "tf-container-missing-image",
            "resource \"aws_ecs_task_definition\" \"app\" {\n  family = \"app\"\n  container_definitions = jsonencode([{name = \"a\"}])\n}\n",
            "aws_ecs_task_definition.app.containerDefinitions[0]",
            "missing required field `image`",
        ),
        tf(
            "tf-scaling-min-word",
            "resource \"aws_ecs_service\" \"web\" {\n  name = \"web\"\n  task_definition = \"web:1\"\n}\nresource \"aws_appautoscaling_target\" \"t\" {\n  resource_id = \"service/c/web\"\n  scalable_dimension = \"ecs:service:DesiredCount\"\n  service_namespace = \"ecs\"\n  min_capacity = \"none\"\n  max_capacity = 2\n}\n",
            "aws_appautoscaling_target.t.min_capacity",
            "is not an integer",
        ),
        tf(
            "tf-event-input-not-json",
            "resource \"aws_cloudwatch_event_rule\" \"r\" {\n  name = \"r\"\n  schedule_expression = \"rate(1 hour)\"\n}\nresource \"aws_cloudwatch_event_target\" \"t\" {\n  rule = aws_cloudwatch_event_rule.r.name\n  arn = \"arn:aws:ecs:us-east-1:1:cluster/c\"\n  input = \"{not json\"\n  ecs_target {\n    task_definition_arn = \"web:1\"\n  }\n}\n",
            "aws_cloudwatch_event_target.t.input",
            "not JSON",
        ),
        case(
            "json-memory-word",
            vec![(
                "task.json",
                text(
                    "{\"family\": \"web\", \"containerDefinitions\": [{\"name\": \"web\", \"image\": \"nginx\", \"memory\": \"lots\"}]}",
                ),
            )],
            "task.json",
            "containerDefinitions[0].memory",
            "invalid type: string \"lots\", expected i32",
        ),
        case(
            "json-containers-object",
            vec![(
                "task.json",
                text("{\"family\": \"web\", \"containerDefinitions\": {\"name\": \"web\"}}"),
            )],
            "task.json",
            "containerDefinitions",
            "expected a sequence",
        ),
    ]
}

fn type_cases_6() -> Vec<Case> {
    vec![case(
        "json-service-desired-word",
        vec![(
            "service.json",
            text(
                "{\"serviceName\": \"web\", \"taskDefinition\": \"web:1\", \"desiredCount\": \"many\"}",
            ),
        )],
        "service.json",
        "desiredCount",
        "invalid type: string \"many\", expected i32",
    )]
}

fn cases() -> Vec<Case> {
    let mut all = file_cases();
    all.extend(input_cases());
    all.extend(limit_cases());
    all.extend(syntax_cases());
    all.extend(type_cases());
    all.extend(more_cases());
    all.extend(duplicate_name_cases());
    all
}

/// `fileexists()` outside the module, and YAML nested by indentation.
fn more_cases() -> Vec<Case> {
    let block: String = (0..2_000)
        .map(|i| format!("{}k{i}:\n", "  ".repeat(i + 1)))
        .collect();
    vec![
        tf_file(
            "tf-fileexists-absolute",
            "fileexists(\"/etc/shadow\") ? \"[]\" : \"[]\"",
            "absolute path",
        ),
        tf_file(
            "tf-fileexists-dotdot",
            "fileexists(\"../../x\") ? \"[]\" : \"[]\"",
            "`..`",
        ),
        cfn(
            "cfn-condition-chain",
            &format!(
                "Conditions:\n{}  C10000: true\nResources:\n  C:\n    Type: AWS::ECS::Cluster\n    Condition: C0\n",
                (0..10_000)
                    .map(|i| format!("  C{i}: {{Condition: C{}}}\n", i + 1))
                    .collect::<String>()
            ),
            "Conditions.C",
            "nested deeper than 100 levels",
        ),
        cfn(
            "cfn-deep-block-yaml",
            &format!("Resources:\n{block}"),
            "",
            "recursion limit",
        ),
        // Found by `fuzz_aws_cli_reader`: a stray quote in every line hid the nesting from the
        // bracket check, and the YAML scanner took 88 s over 12,000 levels of it.
        case(
            "json-stray-quotes-deep",
            vec![(
                "task.json",
                text(&format!(
                    "{{\n  \"family\": \"x\",\n  \"containerDefinitions\": [{{\n{}  }}]\n}}\n",
                    "    \"name\": \"exit\",\n    ontainerDefinitions\": [{\n".repeat(12_000)
                )),
            )],
            "task.json",
            "line ",
            "brackets nested deeper than 64 levels",
        ),
    ]
}

/// Two resources that become the same Kubernetes object, and names given twice.
fn duplicate_name_cases() -> Vec<Case> {
    let td = |id: &str| {
        format!(
            "  {id}:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      Family: web\n      ContainerDefinitions:\n        - Name: web\n          Image: nginx\n          Memory: 256\n"
        )
    };
    vec![
        cfn(
            "cfn-same-family-twice",
            &format!("Resources:\n{}{}", td("A"), td("B")),
            "Resources.B",
            "TaskDefinition/web was already imported",
        ),
        tf(
            "tf-same-cluster-name-twice",
            "resource \"aws_ecs_cluster\" \"a\" {\n  name = \"main\"\n}\nresource \"aws_ecs_cluster\" \"b\" {\n  name = \"main\"\n}\n",
            "aws_ecs_cluster.b",
            "Cluster/main was already imported",
        ),
        case(
            "json-same-service-twice",
            vec![(
                "services.json",
                text(
                    "{\"services\": [{\"serviceName\": \"web\", \"taskDefinition\": \"web:1\"}, {\"serviceName\": \"web\", \"taskDefinition\": \"web:2\"}]}",
                ),
            )],
            "services.json",
            "services[1]",
            "Service/web was already imported",
        ),
        cfn(
            "cfn-two-containers-one-name",
            &format!(
                "Resources:\n{}        - Name: web\n          Image: nginx:2\n",
                td("Td")
            ),
            "Resources.Td: spec.containerDefinitions[1].name",
            "container names must be unique within a task definition",
        ),
    ]
}

#[test]
fn every_bad_input_is_reported_with_file_and_path() {
    let root = root();
    let cases = cases();
    assert!(cases.len() >= 100, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        match run(c, &root) {
            Err(e) => failures.push(format!("{}: {e}", c.name)),
            Ok(reported) => {
                let found = reported.iter().any(|(file, path, message)| {
                    file.ends_with(&c.file)
                        && path.contains(&c.path)
                        && message.contains(&c.message)
                });
                if !found {
                    failures.push(format!(
                        "{}: nothing reported on {} at {} saying {:?}; reported: {reported:#?}",
                        c.name, c.file, c.path, c.message
                    ));
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// With `TIDEWATER_BAD_INPUT_DUMP=DIR`, every case is written to `DIR/import/NAME/` (its files,
/// FIFOs, sparse files and symlinks; `NAME.json` next to it: name, inputs, expected file, path and
/// message) for `hack/bad-input-classes.py`, which runs them through any `tidewater` binary and
/// counts the outcomes per class.
#[test]
fn dump_cases_for_the_class_driver() {
    let Some(root) = std::env::var_os("TIDEWATER_BAD_INPUT_DUMP") else {
        return;
    };
    let root = PathBuf::from(root).join("import");
    let _ = std::fs::remove_dir_all(&root);
    // What the symlink cases point at, as `symlink_and_special_file_cases` sets it up.
    std::fs::create_dir_all(root.join("outside-dir")).unwrap();
    std::fs::write(
        root.join("outside.json"),
        "[{\"name\":\"x\",\"image\":\"secret\"}]",
    )
    .unwrap();
    std::fs::write(root.join("outside-dir/x.json"), "[]").unwrap();
    for c in cases() {
        let dir = root.join(&c.name);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, content) in &c.files {
            write(&dir, name, content);
        }
        let meta = serde_json::json!({
            "name": c.name, "inputs": c.inputs,
            "expect": {"file": c.file, "path": c.path, "message": c.message},
        });
        std::fs::write(
            root.join(format!("{}.json", c.name)),
            serde_json::to_vec_pretty(&meta).unwrap(),
        )
        .unwrap();
    }
}

/// Run the real binary with a deadline: (success, stdout, stderr).
fn tidewater(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidewater"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        use std::io::Write;
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(text.as_bytes()).unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("tidewater {args:?} did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const UTF8_TEMPLATE: &str = "Resources:\n  Td:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      Family: web\n      ContainerDefinitions:\n        - Name: web\n          Image: nginx\n          Memory: 256\n          Environment: [{Name: GREETING, Value: \"héllo — 日本語 ✓\"}]\n";

#[test]
fn the_binary_refuses_devices_and_files_outside_the_module() {
    let (ok, _, err) = tidewater(&["import", "-q", "-f", "/dev/zero"], None);
    assert!(!ok);
    assert!(err.contains("/dev/zero: .: not a regular file"), "{err}");

    let dir = root().join("binary-file-outside");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("main.tf"),
        "resource \"aws_ecs_task_definition\" \"app\" {\n  family = \"app\"\n  container_definitions = file(\"/etc/passwd\")\n}\n",
    )
    .unwrap();
    let (ok, out, err) = tidewater(&["import", "-q", "-f", dir.to_str().unwrap()], None);
    assert!(!ok);
    assert!(!out.contains("root:"), "{out}");
    assert!(
        err.contains("main.tf: aws_ecs_task_definition.app.container_definitions: file(\"/etc/passwd\"): `/etc/passwd` is an absolute path"),
        "{err}"
    );
}

#[test]
fn the_binary_reads_standard_input_and_keeps_utf8() {
    let (ok, out, err) = tidewater(&["import", "-q", "-f", "-"], Some(UTF8_TEMPLATE));
    assert!(ok, "{err}");
    assert!(out.contains("value: héllo — 日本語 ✓"), "{out}");
    assert!(
        out.contains("ecs.tidewater.dev/imported-from: <stdin>#Resources.Td"),
        "{out}"
    );

    let hcl = "resource \"aws_ecs_cluster\" \"main\" {\n  name = \"main\"\n  tags = { team = \"ünïcode-free\" }\n}\n";
    let (ok, out, err) = tidewater(&["import", "-q", "-f", "-"], Some(hcl));
    assert!(ok, "{err}");
    assert!(out.contains("value: ünïcode-free"), "{out}");
}

#[test]
fn the_binary_writes_atomically_and_never_through_a_symlink() {
    let dir = root().join("binary-output");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("stack.yaml");
    std::fs::write(&input, UTF8_TEMPLATE).unwrap();
    let out_dir = dir.join("out");
    let (ok, _, err) = tidewater(
        &[
            "import",
            "-q",
            "-f",
            input.to_str().unwrap(),
            "-o",
            out_dir.to_str().unwrap(),
        ],
        None,
    );
    assert!(ok, "{err}");
    let names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec!["taskdefinition-web.yaml".to_string()],
        "no temporary files left"
    );
    let written = std::fs::read_to_string(out_dir.join("taskdefinition-web.yaml")).unwrap();
    assert!(written.contains("value: héllo — 日本語 ✓"), "{written}");

    // A symlink where a manifest goes is refused, and its target left alone.
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "untouched").unwrap();
    let target = out_dir.join("taskdefinition-web.yaml");
    std::fs::remove_file(&target).unwrap();
    std::os::unix::fs::symlink(&victim, &target).unwrap();
    let (ok, _, err) = tidewater(
        &[
            "import",
            "-q",
            "-f",
            input.to_str().unwrap(),
            "-o",
            out_dir.to_str().unwrap(),
        ],
        None,
    );
    assert!(!ok);
    assert!(
        err.contains("taskdefinition-web.yaml: is a symbolic link"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
}
