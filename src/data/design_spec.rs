//! What a schema declares about the survey design (Stata's `svyset`): the `[design]` table and
//! its single-unit rule. Plain data, parsed and checked where the schema is read; the variance
//! that uses it is `inference::survey` (a layer above this one).

use serde::Deserialize;

/// What a stratum with one PSU contributes to the variance (Stata's `svyset, singleunit()`;
/// `inference::survey` gives the formulas and R's equivalents).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SingleUnit {
    /// An error naming the stratum (Stata reports missing standard errors).
    #[default]
    Missing,
    /// Nothing, as a certainty unit.
    Certainty,
    /// The average contribution of the strata with several PSUs.
    Scaled,
    /// Its PSU total's deviation from the grand mean of the PSU totals.
    Centered,
}

impl SingleUnit {
    /// The rule named `s` (`centred` is accepted for `centered`); the error is the message.
    pub fn parse(s: &str) -> Result<SingleUnit, crate::error::Error> {
        match s {
            "missing" => Ok(SingleUnit::Missing),
            "certainty" => Ok(SingleUnit::Certainty),
            "scaled" => Ok(SingleUnit::Scaled),
            "centered" | "centred" => Ok(SingleUnit::Centered),
            other => Err(crate::error::usage(format!(
                "singleunit takes missing, certainty, scaled or centered (Stata's svyset singleunit()), not '{other}'"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SingleUnit::Missing => "missing",
            SingleUnit::Certainty => "certainty",
            SingleUnit::Scaled => "scaled",
            SingleUnit::Centered => "centered",
        }
    }
}

/// The `[design]` table of a schema, checked: variable names and the single-unit rule.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DesignSpec {
    pub weight: Option<String>,
    pub strata: Option<String>,
    pub psu: Option<String>,
    /// Finite-population correction variable, if any.
    pub fpc: Option<String>,
    /// Strata with a single PSU, as Stata's `svyset, singleunit()` (`--singleunit` overrides
    /// it); `None` when the schema does not say.
    pub singleunit: Option<SingleUnit>,
    pub note: Option<String>,
}

/// The `[design]` table as written (the rule still a string, checked by [`DesignToml::check`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DesignToml {
    #[serde(default)]
    weight: Option<String>,
    #[serde(default)]
    strata: Option<String>,
    #[serde(default)]
    psu: Option<String>,
    #[serde(default)]
    fpc: Option<String>,
    #[serde(default)]
    singleunit: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

impl DesignToml {
    /// The checked table; the error is the single-unit rule's message.
    pub(crate) fn check(self) -> Result<DesignSpec, crate::error::Error> {
        Ok(DesignSpec {
            singleunit: self.singleunit.as_deref().map(SingleUnit::parse).transpose()?,
            weight: self.weight,
            strata: self.strata,
            psu: self.psu,
            fpc: self.fpc,
            note: self.note,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_unit_names_round_trip() {
        for r in [SingleUnit::Missing, SingleUnit::Certainty, SingleUnit::Scaled, SingleUnit::Centered] {
            assert_eq!(SingleUnit::parse(r.name()).unwrap(), r);
        }
        assert_eq!(SingleUnit::parse("centred").unwrap(), SingleUnit::Centered);
        let e = SingleUnit::parse("sometimes").unwrap_err().to_string();
        assert!(
            e.contains("singleunit takes missing, certainty, scaled or centered") && e.contains("'sometimes'"),
            "{e}"
        );
    }
}
