//! `--format` for `inspect`, `info`, `version` and `ps`: a small part of
//! Go's text/template, which Docker's `--format` is.
//!
//! What it reads (everything else is refused with a one-line error):
//!
//! | in the template        | gives                                          |
//! |------------------------|------------------------------------------------|
//! | `text`                 | the text itself                                |
//! | `{{.}}`                | the whole value                                |
//! | `{{.State.Pid}}`       | a field, then a field of it… (keys of the JSON) |
//! | `{{json .Config}}`     | the value as JSON, on one line                 |
//! | `{{upper .Name}}`, `{{lower .Name}}` | a string in upper or lower case |
//!
//! A value prints as Go prints it: a string as it is, a list as `[a b]`,
//! an object as `map[key:value …]` (keys sorted), a missing field as
//! `<no value>`. `\t` and `\n` typed in the template become a tab and a
//! newline, as in Docker's `--format "table {{.ID}}\t{{.Image}}"`.

use serde_json::Value;

/// One piece of a template.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    /// A function (`json`, `upper`, `lower`, or none) of the value at a
    /// path of keys (empty: the whole value).
    Action {
        function: Option<String>,
        path: Vec<String>,
    },
}

/// A parsed template, to apply to many values (`inspect A B C`).
#[derive(Debug, Clone)]
pub struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// Parse `text`. Errors are one line, for `--format`.
    pub fn parse(text: &str) -> Result<Template, String> {
        let text = text.replace("\\t", "\t").replace("\\n", "\n");
        let mut pieces = Vec::new();
        let mut rest = text.as_str();
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                pieces.push(Piece::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| format!("template: unclosed action in {text:?}"))?;
            pieces.push(parse_action(after[..end].trim())?);
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(Template { pieces })
    }

    /// The template applied to `value`.
    pub fn render(&self, value: &Value) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Action { function, path } => {
                    let found = lookup(value, path);
                    out.push_str(&apply(function.as_deref(), found));
                }
            }
        }
        out
    }
}

/// `json .A.B`, `.A`, `.` → a piece.
fn parse_action(action: &str) -> Result<Piece, String> {
    let words: Vec<&str> = action.split_whitespace().collect();
    let (function, path) = match words[..] {
        [path] => (None, path),
        [function @ ("json" | "upper" | "lower"), path] => (Some(function.to_string()), path),
        [function, _] => {
            return Err(format!(
                "template: function \"{function}\" not defined (bocker knows json, upper, lower)"
            ))
        }
        _ => {
            return Err(format!(
                "template: cannot read {{{{{action}}}}} (bocker reads {{{{.Field.Sub}}}} and {{{{json .Field}}}})"
            ))
        }
    };
    if !path.starts_with('.') {
        return Err(format!(
            "template: {path:?} is not a field: fields start with a dot, as in .State.Pid"
        ));
    }
    let keys = path[1..]
        .split('.')
        .filter(|key| !key.is_empty())
        .map(str::to_string)
        .collect();
    Ok(Piece::Action {
        function,
        path: keys,
    })
}

/// The value at `path` in `value`; None if a key is missing.
fn lookup<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, key| value.get(key))
}

fn apply(function: Option<&str>, value: Option<&Value>) -> String {
    match (function, value) {
        (Some("json"), Some(value)) => value.to_string(),
        (Some("json"), None) => "null".to_string(),
        (Some("upper"), value) => go_display(value).to_uppercase(),
        (Some("lower"), value) => go_display(value).to_lowercase(),
        (_, value) => go_display(value),
    }
}

/// A value as Go's fmt prints it in a template.
fn go_display(value: Option<&Value>) -> String {
    match value {
        None => "<no value>".to_string(),
        Some(Value::Null) => "<nil>".to_string(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(items)) => {
            let shown: Vec<String> = items.iter().map(|item| go_display(Some(item))).collect();
            format!("[{}]", shown.join(" "))
        }
        Some(Value::Object(fields)) => {
            let mut keys: Vec<&String> = fields.keys().collect();
            keys.sort();
            let shown: Vec<String> = keys
                .iter()
                .map(|key| format!("{key}:{}", go_display(fields.get(*key))))
                .collect();
            format!("map[{}]", shown.join(" "))
        }
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(template: &str, value: &Value) -> String {
        Template::parse(template).unwrap().render(value)
    }

    #[test]
    fn fields_json_and_text() {
        let value = json!({
            "Name": "/web",
            "State": {"Pid": 42, "Running": true},
            "Config": {"Cmd": ["sh", "-c", "echo hi"], "Env": []},
            "Empty": null
        });
        assert_eq!(render("{{.State.Pid}}", &value), "42");
        assert_eq!(
            render("pid={{ .State.Pid }} up={{.State.Running}}", &value),
            "pid=42 up=true"
        );
        assert_eq!(render("{{.Config.Cmd}}", &value), "[sh -c echo hi]");
        assert_eq!(
            render("{{json .Config}}", &value),
            r#"{"Cmd":["sh","-c","echo hi"],"Env":[]}"#
        );
        assert_eq!(render("{{.State}}", &value), "map[Pid:42 Running:true]");
        assert_eq!(render("{{.Missing.Field}}", &value), "<no value>");
        assert_eq!(render("{{.Empty}}", &value), "<nil>");
        assert_eq!(render("{{upper .Name}}", &value), "/WEB");
        assert_eq!(render("{{.Name}}\\t{{.State.Pid}}", &value), "/web\t42");
        assert_eq!(render("{{.}}", &json!("plain")), "plain");
    }

    #[test]
    fn what_it_cannot_read_is_refused_in_one_line() {
        for (template, said) in [
            ("{{.State.Pid", "unclosed"),
            ("{{printf .Name}}", "not defined"),
            ("{{Name}}", "not a field"),
            ("{{if .A}}x{{end}}", "not defined"),
            ("{{json .A .B}}", "cannot read"),
        ] {
            let error = Template::parse(template).unwrap_err();
            assert!(error.contains(said), "{template}: {error}");
            assert_eq!(error.lines().count(), 1, "{error}");
        }
    }
}
