use kube::CustomResourceExt;
fn main() {
    for crd in tidewater::api::crds() {
        println!("---\n{}", serde_yaml_ng::to_string(&crd).unwrap());
    }
    let _ = tidewater::api::TaskDefinition::crd();
}
