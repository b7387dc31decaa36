//! Akool's operation names (the names fault rules use) of the routes' paths.

/// Every Akool route: its path and its operation name.
pub const OPERATIONS: &[(&str, &str)] = &[
    ("/api/open/v3/getToken", "getToken"),
    (
        "/api/open/v4/image2Video/createBySourcePrompt",
        "createBySourcePrompt",
    ),
    (
        "/api/open/v4/image2Video/createBySourcePrompt/batch",
        "createBatch",
    ),
    ("/api/open/v4/image2Video/resultsByIds", "resultsByIds"),
    ("/api/open/v4/image2Video/delbyids", "delbyids"),
    ("/api/open/v4/image2Video/effects", "effects"),
    ("/api/open/v4/aigModel/list", "modelList"),
    (
        "/api/open/v4/image2Video/updateVideoAudio",
        "updateVideoAudio",
    ),
    ("/api/open/v3/faceswap/quota/info", "quotaInfo"),
];

/// The operation a route's path is, `None` for a path that is no Akool route.
pub fn operation_of(path: &str) -> Option<&'static str> {
    OPERATIONS
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, op)| *op)
}

/// Whether the operation's answer has a field holding a secret (getToken's `token`); every
/// other answer's field names are i2v's own and name none, so the journal need not look for
/// them in kilobytes of results.
pub fn answer_names_a_secret(operation: &str) -> bool {
    operation == "getToken"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::faults::API_ROUTES;

    #[test]
    fn every_fault_route_name_has_a_path_and_no_other() {
        let mut names: Vec<&str> = OPERATIONS.iter().map(|(_, op)| *op).collect();
        names.sort_unstable();
        let mut expected = API_ROUTES.to_vec();
        expected.sort_unstable();
        assert_eq!(names, expected);
    }
}
