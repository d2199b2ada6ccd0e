//! Row labels: how a term of a model (`(Intercept)`, `C(scheme)[URBMI]`, `I(age^2)`,
//! `age:female`) is classified against the report's variables, and the label it prints in
//! either language.

use super::{Lang, Words};
use crate::output::VariableInfo;

/// How a term relates to the variables.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum TermClass {
    Intercept,
    /// A level of a factor: (variable index, level index).
    Level(usize, usize),
    /// A numeric term of one variable (`age`, `I(age^2)`, `log(income)`).
    Numeric(Option<usize>),
    /// Anything else (interactions, terms of several variables): its own block.
    Other,
}

pub(super) struct Labeller<'a> {
    pub(super) vars: &'a [VariableInfo],
    pub(super) lang: Lang,
    pub(super) words: Words,
}

impl Labeller<'_> {
    pub(super) fn pick(&self, name: &str, en: &Option<String>, zh: &Option<String>) -> String {
        match self.lang {
            Lang::Zh => zh.clone().or_else(|| en.clone()),
            Lang::En => en.clone(),
        }
        .unwrap_or_else(|| name.to_string())
    }

    pub(super) fn var_label(&self, i: usize) -> String {
        let v = &self.vars[i];
        self.pick(&v.name, &v.label, &v.label_zh)
    }

    pub(super) fn has_label(&self, i: usize) -> bool {
        let v = &self.vars[i];
        v.label.is_some() || (self.lang == Lang::Zh && v.label_zh.is_some())
    }

    pub(super) fn level_label(&self, i: usize, l: usize) -> String {
        let lv = &self.vars[i].levels[l];
        self.pick(&lv.name, &lv.label, &lv.label_zh)
    }

    pub(super) fn find_var(&self, name: &str) -> Option<usize> {
        self.vars.iter().position(|v| v.name == name)
    }

    /// Matches one part of a term (no `:`) against the factor levels and variables.
    pub(super) fn classify_part(&self, part: &str) -> TermClass {
        if part == "(Intercept)" {
            return TermClass::Intercept;
        }
        for (i, v) in self.vars.iter().enumerate() {
            if let Some(prefix) = &v.term_prefix {
                if let Some(rest) = part.strip_prefix(prefix.as_str()) {
                    if let Some(level) = rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                        if let Some(l) = v.levels.iter().position(|lv| lv.name == level) {
                            return TermClass::Level(i, l);
                        }
                    }
                }
            }
        }
        let ids: Vec<usize> = crate::output::identifiers(part).iter().filter_map(|id| self.find_var(id)).collect();
        match ids.as_slice() {
            [i] => TermClass::Numeric(Some(*i)),
            [] => TermClass::Numeric(None),
            _ => TermClass::Other,
        }
    }

    pub(super) fn classify(&self, term: &str) -> TermClass {
        let parts = split_interaction(term);
        if parts.len() > 1 {
            TermClass::Other
        } else {
            self.classify_part(term)
        }
    }

    /// The row label of a part of a term.
    pub(super) fn part_label(&self, part: &str) -> String {
        match self.classify_part(part) {
            TermClass::Intercept => self.words.constant.to_string(),
            TermClass::Level(i, l) => {
                format!("{}: {}", self.var_label(i), self.level_label(i, l))
            }
            TermClass::Numeric(Some(i)) => {
                let name = &self.vars[i].name;
                if part == name {
                    self.var_label(i)
                } else if part == format!("I({name}^2)") && self.has_label(i) {
                    format!("{}²", self.var_label(i))
                } else if self.has_label(i) {
                    replace_identifier(part, name, &self.var_label(i))
                } else {
                    part.to_string()
                }
            }
            _ => part.to_string(),
        }
    }

    pub(super) fn factor_header(&self, i: usize) -> String {
        let v = &self.vars[i];
        let r = v.reference.unwrap_or(0);
        let reference = self.level_label(i, r);
        match self.lang {
            Lang::En => format!("{} ({} {})", self.var_label(i), self.words.reference, reference),
            Lang::Zh => format!("{}（{}{}）", self.var_label(i), self.words.reference, reference),
        }
    }
}

/// Splits `a:C(g)[x]:b` at the colons outside brackets and parentheses.
pub(super) fn split_interaction(term: &str) -> Vec<&str> {
    let mut depth = 0i32;
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, ch) in term.char_indices() {
        match ch {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ':' if depth == 0 => {
                parts.push(&term[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&term[start..]);
    parts
}

fn replace_identifier(text: &str, name: &str, with: &str) -> String {
    let mut out = String::new();
    let mut cur = String::new();
    for ch in text.chars() {
        if ch.is_alphanumeric() || ch == '_' || ch == '.' {
            cur.push(ch);
        } else {
            out.push_str(if cur == name { with } else { &cur });
            cur.clear();
            out.push(ch);
        }
    }
    out.push_str(if cur == name { with } else { &cur });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interaction_split_respects_brackets() {
        assert_eq!(split_interaction("x:C(g)[a:b]"), vec!["x", "C(g)[a:b]"]);
        assert_eq!(replace_identifier("I(age^2)", "age", "Age"), "I(Age^2)");
    }
}
