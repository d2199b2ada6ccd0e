//! The options model: its keys against the struct, spellings, and errors naming their key.
use super::*;
use serde::{Deserialize, Deserializer};

/// The field names serde derives for [`Options`], read off `deserialize_struct`.
fn serde_fields() -> &'static [&'static str] {
    use serde::de::{self, Visitor};
    struct Probe<'a>(&'a std::cell::Cell<&'static [&'static str]>);
    impl<'de> Deserializer<'de> for Probe<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> std::result::Result<V::Value, Self::Error> {
            Err(de::Error::custom("probe"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> std::result::Result<V::Value, Self::Error> {
            self.0.set(fields);
            Err(de::Error::custom("probe"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    let cell = std::cell::Cell::new(&[][..]);
    let _ = Options::deserialize(Probe(&cell));
    cell.get()
}

#[test]
fn keys_are_the_fields_of_the_struct() {
    let fields = serde_fields();
    assert!(fields.len() > 30, "{fields:?}");
    for f in fields {
        assert!(canonical(f).is_some(), "field '{f}' is not in KEYS");
    }
    for (k, what) in KEYS {
        assert!(fields.contains(k), "KEYS names '{k}', which Options does not have");
        assert!(!what.is_empty());
    }
}

fn parse(text: &str) -> std::result::Result<Options, toml::de::Error> {
    toml::from_str(text)
}

#[test]
fn keys_take_underscores_dashes_lists_and_numbers() {
    let o = parse("max-iter = 7\nkeep_going = true\nformula = [\"y ~ x\", \"z ~ x\"]\nmodel = \"probit\"\nor = true\nscale = 2\nlevel = 90\ntitles = \"A\"\nif = \"x > 1\"").unwrap();
    assert_eq!(o.max_iter, Some(7));
    assert!(o.keep_going && o.odds_ratios);
    assert_eq!(o.formula.len(), 2);
    assert_eq!(o.model, vec!["probit".to_string()]);
    assert_eq!(o.scale, Some(ScaleValue::Number(2.0)));
    assert_eq!(o.level, Some(90.0));
    assert_eq!(o.title, vec!["A".to_string()]);
    assert_eq!(o.if_expr.as_deref(), Some("x > 1"));
    assert!(parse("vcee = \"robust\"").is_err());
    assert!(parse("svy = \"yes\"").is_err());
    assert_eq!(canonical("max-iter"), Some("max_iter"));
    assert_eq!(canonical("or"), Some("odds_ratios"));
    assert_eq!(canonical("vcee"), None);
}

fn ctx() -> Context<'static> {
    Context { schema: None, margins_default: true, output: None }
}

#[test]
fn a_numeric_scale_is_the_scale_of_its_text() {
    let mut a = parse("formula = \"y ~ x\"\nscale = 2.5").unwrap().resolve(&ctx()).unwrap();
    let mut b = parse("formula = \"y ~ x\"\nscale = \"2.5\"").unwrap().resolve(&ctx()).unwrap();
    let (Job::Fit(a), Job::Fit(b)) = (a.jobs.remove(0), b.jobs.remove(0)) else { panic!() };
    assert_eq!(a.spec.scale, b.spec.scale);
    let e = parse("formula = \"y ~ x\"\nscale = -1").unwrap().resolve(&ctx()).unwrap_err();
    assert_eq!(e.key, "scale");
}

#[test]
fn errors_name_their_key() {
    let cases = [
        ("formula = \"y ~ x\"\nweights = \"w\"", "weights"),
        ("formula = \"y ~ x\"\nweight_type = \"pweight\"", "weight_type"),
        ("formula = \"y ~\"", "formula"),
        ("formula = \"y ~ x\"\nsvy = true", "svy"),
        ("formula = \"y ~ x\"\nmax_iter = 0", "max_iter"),
        ("formula = \"y ~ x\"\nformat = \"odt\"", "format"),
        ("formula = \"y ~ x\"\nlatex_standalone = true\nformat = \"md\"", "latex_standalone"),
        ("command = \"twopart\"\nformula = [\"y ~ x\", \"z ~ x\"]", "formula"),
        ("command = \"twopart\"\nformula = \"y ~ x\"\nfirst = \"tobit\"", "first"),
        ("command = \"twopart\"\nformula = \"y ~ x\"\nresponse2 = \"log(\"", "response2"),
        ("formula = \"y ~ x\"\nif = \"x >\"", "if"),
        ("formula = \"y ~ x\"\nsubsample = \"ncms\"", "subsample"),
        ("formula = \"y ~ x\"\nodds_ratios = true\nmodel = \"probit\"", "odds_ratios"),
        ("formula = \"y ~ x\"\nvce = \"svy\"", "svy"),
        ("command = \"tobit\"\nformula = \"y ~ x\"", "command"),
    ];
    for (text, key) in cases {
        let e = parse(text).unwrap().resolve(&ctx()).expect_err(text);
        assert_eq!(e.key, key, "{text}: {}", e.error);
    }
}

#[test]
fn the_survey_options_make_a_design() {
    let r =
        parse("formula = \"y ~ x\"\nstrata = \"s\"\npsu = \"p\"\nkeep-going = true").unwrap().resolve(&ctx()).unwrap();
    let Job::Fit(j) = &r.jobs[0] else { panic!() };
    assert!(j.est.survey.is_some() && j.spec.keep_going);
    assert_eq!(j.est.sample.also_require, vec!["s".to_string(), "p".to_string()]);
}

#[test]
fn firth_reaches_binomial_specs_only() {
    let r = parse("formula = \"y ~ x\"\nmodel = \"logit\"\nfirth = true").unwrap().resolve(&ctx()).unwrap();
    let Job::Fit(j) = &r.jobs[0] else { panic!() };
    assert!(j.spec.firth);
    let e = parse("formula = \"y ~ x\"\nmodel = \"glm\"\nfamily = \"gamma\"\nfirth = true")
        .unwrap()
        .resolve(&ctx())
        .expect_err("firth with a gamma GLM");
    assert_eq!(e.key, "firth", "{}", e.error);
    let r = parse("command = \"twopart\"\nformula = \"y ~ x\"\nfirth = true").unwrap().resolve(&ctx()).unwrap();
    let Job::TwoPart(j) = &r.jobs[0] else { panic!() };
    assert!(j.first.firth && !j.second.firth);
}

#[test]
fn trim_cuts_at_statas_pctile() {
    // x = 1..100: the 0.99 quantile is (x(99) + x(100)) / 2 = 99.5 (n p whole), so x = 100
    // goes; at 0.985, n p = 98.5 is not whole and the cut is x(99) = 99.
    let csv: String =
        std::iter::once("x".to_string()).chain((1..=100).map(|i| i.to_string())).collect::<Vec<_>>().join("\n");
    let ds = crate::data::csv::read_csv_bytes(csv.as_bytes(), "t.csv", &Default::default()).unwrap();
    for (q, kept) in [(0.99, 99), (0.985, 99), (0.5, 50), (0.505, 51)] {
        let f = RowFilters { trim: Some(("x".into(), q)), ..Default::default() };
        assert_eq!(f.apply(ds.clone()).unwrap().n_rows(), kept, "q = {q}");
    }
}

/// A two-part job on a dataset handed over (`run_owned`, which frees the columns once the
/// designs are built) reports exactly what it reports on a borrowed one, including effects
/// `--over` a variable that is read after the fits and a survey design, which keeps every
/// column.
#[test]
fn a_twopart_job_on_an_owned_dataset_reports_the_same() {
    use crate::data::csv::{read_csv_bytes, CsvOptions};
    let mut text = String::from("y,x,g,c,w\n");
    let mut s: u64 = 12345;
    let mut next = || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    for i in 0..400 {
        let x = next() * 2.0 - 1.0;
        let g = i % 3;
        let y = if next() < 0.4 + 0.2 * x { 0.0 } else { (1.0 + 0.5 * x + 0.1 * g as f64).exp() * (0.5 + next()) };
        text.push_str(&format!("{y},{x},{g},{},{}\n", i % 17, 1.0 + (i % 5) as f64 / 4.0));
    }
    let ds = read_csv_bytes(text.as_bytes(), "t.csv", &CsvOptions::default()).unwrap();
    let base = "command = \"twopart\"\nformula = \"y ~ x + C(g)\"\nmargins = true\n";
    for extra in [
        "cluster = \"c\"",
        "cluster = \"c\"\nover = \"g\"",
        "strata = \"g\"\npsu = \"c\"\nweights = \"w\"\nweight_type = \"pweight\"",
    ] {
        let r = parse(&format!("{base}{extra}")).unwrap().resolve(&ctx()).unwrap();
        let borrowed = serde_json::to_string(&r.run(&ds).unwrap()).unwrap();
        let owned = serde_json::to_string(&r.run_owned(ds.clone()).unwrap()).unwrap();
        assert_eq!(borrowed, owned, "{extra}");
        assert!(borrowed.contains("\"margins\""), "{extra}");
    }
}
