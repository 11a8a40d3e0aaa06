//! One test's world: a namespace of its own, a stand-in with a trained
//! classifier and documents to classify.

use kube::Api;

use super::*;

/// What a ClassificationJob test starts from.
pub struct Setup {
    pub api: Api<ClassificationJob>,
    pub ns: String,
    pub standin: Standin,
    pub classifier: String,
}

/// A namespace named after `prefix`, a stand-in started with
/// `standin_args`, a trained classifier and the documents under `docs/`.
pub async fn setup(prefix: &str, standin_args: &[&str]) -> Setup {
    let client = client().await;
    install_crd(&client).await;
    let ns = namespace(&client, prefix).await;
    let standin = Standin::start(standin_args);
    let classifier = standin.trained_classifier("news").await;
    standin.upload_documents("docs").await;
    Setup {
        api: Api::namespaced(client, &ns),
        ns,
        standin,
        classifier,
    }
}
