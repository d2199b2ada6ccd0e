//! Reading a schema: the TOML parsed, every variable, level, derived expression, subsample,
//! universe and design field checked, each problem reported at its line and column.

use super::*;

impl Schema {
    /// The 1-based line of a byte offset in the schema file.
    pub fn line_of(&self, offset: usize) -> usize {
        line_col(&self.text, offset).0
    }

    /// Reads and checks a schema file.
    pub fn from_path(path: &Path) -> Result<Schema, SchemaError> {
        let display = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| SchemaError {
            path: display.clone(),
            line: 0,
            column: 0,
            message: format!("cannot read the schema: {e}"),
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let (line, column) = line_col(&String::from_utf8_lossy(e.as_bytes()), e.utf8_error().valid_up_to());
            SchemaError { path: display.clone(), line, column, message: "the schema is not valid UTF-8".into() }
        })?;
        Schema::parse(&text, &display)
    }

    /// Parses a schema from its text; `display` names it in messages.
    pub fn parse(text: &str, display: &str) -> Result<Schema, SchemaError> {
        let err_at = |offset: usize, message: String| {
            let (line, column) = line_col(text, offset);
            SchemaError { path: display.to_string(), line, column, message }
        };
        let raw: SchemaToml = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            err_at(offset, crate::error::plain_toml_message(e.message()))
        })?;

        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut check_name = |name: &Spanned<String>| -> Result<(), SchemaError> {
            let n = name.get_ref();
            if !is_identifier(n) {
                return Err(err_at(
                    name.span().start,
                    format!("'{n}' is not a valid variable name (letters, digits and _, not starting with a digit)"),
                ));
            }
            if expr::is_reserved(n) {
                return Err(err_at(name.span().start, format!("'{n}' is a reserved word of the expression language")));
            }
            if let Some(&prev) = seen.get(n) {
                let (pl, _) = line_col(text, prev);
                return Err(err_at(name.span().start, format!("variable '{n}' is defined twice (first at line {pl})")));
            }
            seen.insert(n.clone(), name.span().start);
            Ok(())
        };
        for v in &raw.variables {
            check_name(&v.name)?;
        }
        for d in &raw.derived {
            check_name(&d.name)?;
        }

        for v in &raw.variables {
            let at = v.name.span().start;
            let name = v.name.get_ref();
            match v.var_type {
                VarType::Categorical | VarType::Ordinal => {
                    if v.levels.is_empty() {
                        return Err(err_at(
                            at,
                            format!(
                                "{} variable '{name}' needs its levels ([[variable.levels]] with code and name)",
                                v.var_type.name()
                            ),
                        ));
                    }
                }
                VarType::Binary => {
                    for l in &v.levels {
                        if !matches!(l.value, Some(x) if x == 0.0 || x == 1.0) {
                            return Err(err_at(
                                at,
                                format!(
                                    "binary variable '{name}': level '{}' needs `value = 0` or `value = 1`",
                                    l.name
                                ),
                            ));
                        }
                    }
                }
                _ => {
                    if !v.levels.is_empty() {
                        return Err(err_at(
                            at,
                            format!(
                                "{} variable '{name}' cannot have levels (use type = \"categorical\")",
                                v.var_type.name()
                            ),
                        ));
                    }
                }
            }
            let mut names: HashMap<&str, ()> = HashMap::new();
            let mut codes: Vec<String> = Vec::new();
            for l in &v.levels {
                if names.insert(l.name.as_str(), ()).is_some() {
                    return Err(err_at(at, format!("variable '{name}': level name '{}' is used twice", l.name)));
                }
                if l.all_codes().next().is_none() {
                    return Err(err_at(
                        at,
                        format!("variable '{name}': level '{}' has no `code` (or `codes`)", l.name),
                    ));
                }
                for c in l.all_codes() {
                    let key = code_key(c);
                    if codes.contains(&key) {
                        return Err(err_at(at, format!("variable '{name}': code {} belongs to two levels", c.text())));
                    }
                    codes.push(key);
                }
            }
            if let Some(r) = &v.reference {
                if !v.var_type.is_factor() {
                    return Err(err_at(
                        r.span().start,
                        format!("variable '{name}': only categorical and ordinal variables have a reference level"),
                    ));
                }
                if reference_index(&v.levels, r.get_ref()).is_none() {
                    let known: Vec<&str> = v.levels.iter().map(|l| l.name.as_str()).collect();
                    return Err(err_at(
                        r.span().start,
                        format!(
                            "variable '{name}': reference '{}' is not one of its levels ({})",
                            r.get_ref().text(),
                            known.join(", ")
                        ),
                    ));
                }
            }
            if let Some([lo, hi]) = v.range {
                if lo > hi || lo.is_nan() || hi.is_nan() {
                    return Err(err_at(at, format!("variable '{name}': range [{lo}, {hi}] is empty")));
                }
            }
        }

        // Expressions: parsed now so that a typo is reported with its line in the schema.
        let parse_at = |src: &Spanned<String>| -> Result<Expr, SchemaError> {
            expr::parse(src.get_ref()).map_err(|e| {
                // +1: the opening quote of the TOML string.
                err_at(src.span().start + 1 + e.position, format!("in expression \"{}\": {}", src.get_ref(), e.message))
            })
        };
        let mut known: Vec<String> = raw.variables.iter().map(|v| v.name.get_ref().clone()).collect();
        let universe = match &raw.dataset.universe {
            Some(u) => {
                let e = parse_at(u)?;
                check_refs(&e, &known, u, &err_at)?;
                Some(e)
            }
            None => None,
        };
        let mut derived_exprs = Vec::new();
        for d in &raw.derived {
            let e = parse_at(&d.expr)?;
            check_refs(&e, &known, &d.expr, &err_at)?;
            derived_exprs.push(e);
            known.push(d.name.get_ref().clone());
        }
        let mut subsample_exprs = Vec::new();
        let mut sub_names: Vec<&str> = Vec::new();
        for s in &raw.subsamples {
            if !is_identifier(s.name.get_ref()) {
                return Err(err_at(
                    s.name.span().start,
                    format!("'{}' is not a valid subsample name", s.name.get_ref()),
                ));
            }
            if sub_names.contains(&s.name.get_ref().as_str()) {
                return Err(err_at(s.name.span().start, format!("subsample '{}' is defined twice", s.name.get_ref())));
            }
            sub_names.push(s.name.get_ref());
            let e = parse_at(&s.filter)?;
            check_refs(&e, &known, &s.filter, &err_at)?;
            subsample_exprs.push(e);
        }
        let design = raw
            .design
            .unwrap_or_default()
            .check()
            .map_err(|e| err_at(design_key_offset(text, None), format!("[design] {e}")))?;
        for (field, v) in
            [("weight", &design.weight), ("strata", &design.strata), ("psu", &design.psu), ("fpc", &design.fpc)]
        {
            if let Some(v) = v {
                if !known.contains(v) {
                    return Err(err_at(
                        design_key_offset(text, Some(field)),
                        format!("[design] {field} = \"{v}\" is not a variable of the schema"),
                    ));
                }
            }
        }

        Ok(Schema {
            path: display.to_string(),
            dataset: raw.dataset,
            design,
            variables: raw.variables,
            derived: raw.derived,
            derived_exprs,
            subsamples: raw.subsamples,
            subsample_exprs,
            universe,
            text: text.to_string(),
        })
    }

    /// The expression of the subsample called `name`.
    pub fn subsample(&self, name: &str) -> Option<&Expr> {
        self.subsamples.iter().position(|s| s.name.get_ref() == name).map(|i| &self.subsample_exprs[i])
    }

    pub fn subsample_names(&self) -> Vec<&str> {
        self.subsamples.iter().map(|s| s.name.get_ref().as_str()).collect()
    }

    /// The raw columns the schema reads.
    pub fn source_columns(&self) -> Vec<&str> {
        self.variables.iter().map(|v| v.source()).collect()
    }

    /// The schema reduced to what the variables `names` need (column projection): the
    /// variables and derived variables they name, every variable a kept derived variable
    /// depends on (transitively), and everything the universe filter reads. The universe and
    /// the missing-value rules of the kept variables are unchanged, so the rows and values of
    /// the named variables are those of the full schema. `None` when a name is neither a
    /// variable nor a derived variable of the schema (the caller then loads everything, so
    /// that the error about the unknown name is the same as without projection).
    pub fn project(&self, names: &[String]) -> Option<Schema> {
        let known = |n: &str| {
            self.variables.iter().any(|v| v.name.get_ref() == n) || self.derived.iter().any(|d| d.name.get_ref() == n)
        };
        if !names.iter().all(|n| known(n)) {
            return None;
        }
        let mut need: std::collections::HashSet<String> = names.iter().cloned().collect();
        if let Some(u) = &self.universe {
            need.extend(u.variables().into_iter().map(str::to_string));
        }
        // Derived variables read only what is defined above them: walk them backwards.
        let mut keep_derived = vec![false; self.derived.len()];
        for (i, (d, e)) in self.derived.iter().zip(&self.derived_exprs).enumerate().rev() {
            if need.contains(d.name.get_ref()) {
                keep_derived[i] = true;
                need.extend(e.variables().into_iter().map(str::to_string));
            }
        }
        let mut out = self.clone();
        out.variables.retain(|v| need.contains(v.name.get_ref()));
        let mut k = keep_derived.iter();
        out.derived.retain(|_| *k.next().unwrap());
        let mut k = keep_derived.iter();
        out.derived_exprs.retain(|_| *k.next().unwrap());
        Some(out)
    }

    pub fn variable(&self, name: &str) -> Option<&VariableSpec> {
        self.variables.iter().find(|v| v.name.get_ref() == name)
    }

    /// Type of a schema or derived variable.
    pub fn var_type(&self, name: &str) -> Option<VarType> {
        if let Some(v) = self.variable(name) {
            return Some(v.var_type);
        }
        self.derived.iter().find(|d| d.name.get_ref() == name).and_then(|d| d.var_type)
    }
}

/// The byte offset of `key = ...` in the schema's `[design]` table (of the table's header
/// when `key` is `None` or not found there), so that a design error has a real line and
/// column (issue #19: they were reported at "0:0").
fn design_key_offset(text: &str, key: Option<&str>) -> usize {
    let mut offset = 0;
    let mut header = None;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        let at = offset + (line.len() - t.len());
        if t.starts_with('[') {
            if header.is_some() {
                break;
            }
            if t.starts_with("[design]") {
                header = Some(at);
            }
        } else if let (Some(_), Some(k)) = (header, key) {
            let rest = t.strip_prefix(k).map(str::trim_start);
            if rest.is_some_and(|r| r.starts_with('=')) {
                return at;
            }
        }
        offset += line.len();
    }
    header.unwrap_or(0)
}
