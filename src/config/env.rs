//! `DAYPASS__SECTION__KEY=value` overrides any key of the file.
use crate::config::ConfigError;

const PREFIX: &str = "DAYPASS__";

pub fn apply_overrides(
    root: &mut toml::Value,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    for (name, raw_value) in env {
        let Some(path) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let keys: Vec<String> = path.split("__").map(|k| k.to_ascii_lowercase()).collect();
        if keys.iter().any(String::is_empty) {
            return Err(ConfigError::new(name, "empty key in override name"));
        }
        let mut table = root
            .as_table_mut()
            .ok_or_else(|| ConfigError::new("config", "the config must be a table"))?;
        let (last, parents) = keys
            .split_last()
            .ok_or_else(|| ConfigError::new(&name, "no key"))?;
        for key in parents {
            let entry = table
                .entry(key.clone())
                .or_insert_with(|| toml::Value::Table(Default::default()));
            table = entry.as_table_mut().ok_or_else(|| {
                ConfigError::new(
                    &name,
                    format!("`{key}` is not a section, so it cannot be overridden this way"),
                )
            })?;
        }
        table.insert(last.clone(), parse_value(&raw_value));
    }
    Ok(())
}

/// `8080` becomes an integer, `true` a boolean, `["a"]` an array; anything else a string.
fn parse_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_set_nested_keys_with_typed_values() {
        let mut v: toml::Value = toml::from_str("[server]\nlisten = \"127.0.0.1:1\"").unwrap();
        apply_overrides(
            &mut v,
            [
                (
                    "DAYPASS__SERVER__LISTEN".to_string(),
                    "0.0.0.0:9000".to_string(),
                ),
                ("DAYPASS__EMAIL__PORT".to_string(), "2525".to_string()),
                ("DAYPASS_SECRET".to_string(), "not an override".to_string()),
            ],
        )
        .unwrap();
        assert_eq!(v["server"]["listen"].as_str(), Some("0.0.0.0:9000"));
        assert_eq!(v["email"]["port"].as_integer(), Some(2525));
        assert!(v.get("secret").is_none());
    }
}
