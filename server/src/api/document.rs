//! Checks of the OpenAPI document ([`super::ApiDoc`]) against the router it describes:
//! every route of [`super::router`] is an operation of the document and every
//! operation a route (method and path), every `{param}` of a path is declared, and
//! every schema reference resolves. The routes are read from the router itself (its
//! `Debug` form lists each path and the methods it serves), not from a hand list.

#[cfg(test)]
mod tests {
    use super::super::{router, ApiDoc};
    use std::collections::{BTreeMap, BTreeSet};
    use utoipa::OpenApi;

    /// Methods the document describes (HEAD and OPTIONS come with GET / CORS).
    const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

    /// `(METHOD, path)` of every route the router serves, read from its `Debug` form
    /// (axum 0.8: `routes: {RouteId(n): MethodRouter(MethodRouter { get: …, … })}` and
    /// `node: Node { paths: {RouteId(n): "/path"} }`). Only the main path router:
    /// the fallback router's ids are another numbering.
    fn router_routes() -> BTreeSet<(String, String)> {
        let all = format!("{:?}", router());
        let main = all
            .split_once("fallback_router:")
            .map_or(all.as_str(), |(m, _)| m);
        let (routes, paths) = main
            .split_once("node: Node")
            .expect("axum's Router Debug form has changed: no `node: Node`");
        let mut path_of = BTreeMap::new();
        for part in paths.split("RouteId(").skip(1) {
            let Some((id, rest)) = part.split_once("): \"") else {
                continue;
            };
            let Some((path, _)) = rest.split_once('"') else {
                continue;
            };
            path_of.insert(id.to_string(), path.to_string());
        }
        let mut out = BTreeSet::new();
        for part in routes.split("RouteId(").skip(1) {
            let Some((id, rest)) = part.split_once("): ") else {
                continue;
            };
            let path = path_of
                .get(id)
                .unwrap_or_else(|| panic!("route {id} has no path in {main}"));
            // A nested router's catch-all (the `/api/v1` fallback) is no endpoint.
            if path.contains("{*") {
                continue;
            }
            if !rest.starts_with("MethodRouter(") {
                panic!("route {path} is a service, not a method router: {rest}");
            }
            for m in METHODS {
                let field = format!(" {m}: ");
                let Some((_, value)) = rest.split_once(&field) else {
                    panic!("axum's MethodRouter Debug form has changed: no `{m}` in {rest}");
                };
                if !value.starts_with("None") {
                    out.insert((m.to_uppercase(), path.clone()));
                }
            }
        }
        out
    }

    fn document() -> serde_json::Value {
        serde_json::to_value(ApiDoc::openapi()).expect("the document serialises")
    }

    fn document_routes(doc: &serde_json::Value) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for m in METHODS {
                if item.get(m).is_some() {
                    out.insert((m.to_uppercase(), path.clone()));
                }
            }
        }
        out
    }

    #[test]
    fn every_route_of_the_router_is_in_the_document_and_nothing_else() {
        let mut served = router_routes();
        // The document itself.
        assert!(served.remove(&("GET".into(), "/api/openapi.json".into())));
        assert!(
            served.len() >= 60,
            "read only {} routes from the router: has axum's Debug form changed?",
            served.len()
        );
        let documented = document_routes(&document());
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let unserved: Vec<_> = documented.difference(&served).collect();
        assert!(
            undocumented.is_empty() && unserved.is_empty(),
            "routes missing from the OpenAPI document: {undocumented:?}; \
             operations of the document no route serves: {unserved:?}"
        );
    }

    #[test]
    fn every_path_parameter_is_declared_and_every_declared_one_is_in_the_path() {
        let doc = document();
        let mut problems = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            let in_path: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            for m in METHODS {
                let Some(op) = item.get(m) else { continue };
                let declared: BTreeSet<&str> = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "path")
                    .inspect(|p| {
                        if p["required"] != true {
                            problems.push(format!("{m} {path}: {} not required", p["name"]));
                        }
                    })
                    .filter_map(|p| p["name"].as_str())
                    .collect();
                if declared != in_path {
                    problems.push(format!(
                        "{m} {path}: declares {declared:?}, the path has {in_path:?}"
                    ));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn the_document_parses_as_openapi_3_1_with_unique_operation_ids_and_resolving_refs() {
        let json = ApiDoc::openapi()
            .to_json()
            .expect("the document serialises");
        let spec = oas3::from_json(&json).expect("a valid OpenAPI 3.1 document");
        assert!(spec.openapi.starts_with("3.1"), "{}", spec.openapi);

        let doc = document();
        let mut ids = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for m in METHODS {
                if let Some(op) = item.get(m) {
                    let id = op["operationId"].as_str().unwrap_or_default();
                    assert!(!id.is_empty(), "{m} {path} has no operationId");
                    assert!(ids.insert(id.to_string()), "operationId {id} twice");
                }
            }
        }
        let schemas = doc["components"]["schemas"]
            .as_object()
            .expect("components.schemas");
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        for r in refs {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected reference {r}"));
            assert!(
                schemas.contains_key(name),
                "reference to a missing schema {r}"
            );
        }
    }

    fn collect_refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v.as_str()) {
                        ("$ref", Some(r)) => out.push(r.to_string()),
                        _ => collect_refs(v, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn request_bodies_carry_the_limits_the_server_enforces() {
        let doc = document();
        let login = &doc["components"]["schemas"]["UserCreate"]["properties"]["login"];
        assert_eq!(login["maxLength"], shared::validate::LOGIN_MAX);
        assert!(login["pattern"].is_string(), "{login}");
        let address = &doc["components"]["schemas"]["TerminalInput"]["properties"]["host_address"];
        assert_eq!(address["maxLength"], shared::validate::HOST_ADDRESS_MAX);
        let kind = &doc["components"]["schemas"]["ScriptKind"];
        assert!(
            kind["enum"].as_array().is_some_and(|e| e.len() == 8),
            "{kind}"
        );
    }
}
