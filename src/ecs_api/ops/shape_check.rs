//! Checks a response against the ECS output model (`api/ecs-output-model.json`, extracted from
//! botocore's model by `hack/ecs_output_model.py`): every member is one the model names, with
//! the model's type, recursively; enumerations hold one of their values; timestamps are epoch
//! seconds, as the JSON 1.1 protocol writes them. Used by the unit tests of every operation and
//! by the e2e tests on every answer.

use std::sync::OnceLock;

use serde_json::Value;

static MODEL_TEXT: &str = include_str!("../../../api/ecs-output-model.json");

fn model() -> &'static Value {
    static MODEL: OnceLock<Value> = OnceLock::new();
    MODEL.get_or_init(|| serde_json::from_str(MODEL_TEXT).expect("api/ecs-output-model.json"))
}

/// Checks `response` against the output shape of `operation`; the errors name the JSON path.
pub fn check(operation: &str, response: &Value) -> Result<(), Vec<String>> {
    let Some(shape) = model()["operations"][operation].as_str() else {
        return Err(vec![format!("{operation}: not in the output model")]);
    };
    let mut errors = Vec::new();
    check_shape(shape, response, "$", &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn check_shape(name: &str, value: &Value, path: &str, errors: &mut Vec<String>) {
    let shape = &model()["shapes"][name];
    let wrong = |errors: &mut Vec<String>, what: &str| {
        errors.push(format!("{path}: expected {what} ({name}), got {value}"));
    };
    match shape["type"].as_str().unwrap_or_default() {
        "structure" => check_structure(shape, name, value, path, errors),
        "list" => match value.as_array() {
            Some(items) => {
                let member = shape["member"].as_str().unwrap_or_default();
                for (i, v) in items.iter().enumerate() {
                    check_shape(member, v, &format!("{path}[{i}]"), errors);
                }
            }
            None => wrong(errors, "a list"),
        },
        "map" => match value.as_object() {
            Some(map) => {
                let v_shape = shape["value"].as_str().unwrap_or_default();
                for (k, v) in map {
                    check_shape(v_shape, v, &format!("{path}.{k}"), errors);
                }
            }
            None => wrong(errors, "a map"),
        },
        "string" => check_string(shape, name, value, path, errors),
        "integer" | "long" if value.is_i64() || value.is_u64() => {}
        "integer" | "long" => wrong(errors, "an integer"),
        "boolean" if value.is_boolean() => {}
        "boolean" => wrong(errors, "a boolean"),
        "double" | "float" | "timestamp" if value.is_number() => {}
        "double" | "float" => wrong(errors, "a number"),
        "timestamp" => wrong(errors, "epoch seconds"),
        "blob" if value.is_string() => {}
        other => errors.push(format!("{path}: unknown model type {other:?} ({name})")),
    }
}

fn check_structure(shape: &Value, name: &str, value: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(object) = value.as_object() else {
        errors.push(format!(
            "{path}: expected a structure ({name}), got {value}"
        ));
        return;
    };
    for (k, v) in object {
        match shape["members"][k].as_str() {
            Some(member) => check_shape(member, v, &format!("{path}.{k}"), errors),
            None => errors.push(format!("{path}.{k}: not a member of {name}")),
        }
    }
}

fn check_string(shape: &Value, name: &str, value: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(s) = value.as_str() else {
        errors.push(format!("{path}: expected a string ({name}), got {value}"));
        return;
    };
    if let Some(values) = shape["enum"].as_array()
        && !values.iter().any(|v| v == s)
    {
        errors.push(format!("{path}: {s:?} is not a value of {name}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_checker_finds_unknown_members_wrong_types_and_enum_values() {
        assert_eq!(
            check("ListClusters", &json!({"clusterArns": ["a"]})),
            Ok(())
        );
        let errors = check(
            "DescribeServices",
            &json!({"services": [{"serviceName": 1, "launchType": "SPACE", "bogus": true,
                    "createdAt": "2024-01-01", "deployments": [{"desiredCount": 1}]}],
                    "failures": [{"arn": "x", "reason": "MISSING"}]}),
        )
        .unwrap_err();
        assert_eq!(
            errors,
            vec![
                "$.services[0].bogus: not a member of Service",
                "$.services[0].createdAt: expected epoch seconds (Timestamp), got \"2024-01-01\"",
                "$.services[0].launchType: \"SPACE\" is not a value of LaunchType",
                "$.services[0].serviceName: expected a string (String), got 1",
            ]
        );
        assert!(check("NoSuchOperation", &json!({})).is_err());
    }
}
