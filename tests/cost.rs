//! `docs/cost.md` shows the bill of the shipped template at the home scale: recomputed here from
//! the template and the sample ping document, so the page cannot drift from the settings.

use failberry_ctl::cost::{markdown, price_files, HomeProfile};

fn repo(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

#[test]
fn the_cost_page_shows_the_bill_of_the_shipped_template() {
    let bill = price_files(
        &repo("infra/template.yaml"),
        &repo("infra/ping-home.sample.json"),
        &HomeProfile::default(),
        &[],
    )
    .unwrap();
    let page = std::fs::read_to_string(repo("docs/cost.md")).unwrap();
    let shown = page
        .split("<!-- bill:begin -->\n")
        .nth(1)
        .and_then(|rest| rest.split("\n<!-- bill:end -->").next())
        .expect("docs/cost.md has the bill between its markers");
    assert_eq!(
        shown.trim(),
        markdown(&bill).trim(),
        "docs/cost.md is stale: paste `failberry-ctl cost --markdown` between its markers"
    );
    let line_sum: f64 = bill.lines.iter().map(|l| l.list_usd).sum();
    assert!((bill.list_usd - line_sum).abs() < 1e-9);
    assert!(bill.after_free_tier_usd <= bill.list_usd);
}

/// The page's figure for the dashboard setting is the bill of the template deployed with it.
#[test]
fn the_cost_page_prices_the_dashboard_setting() {
    let bill = |parameters: &[(String, String)]| {
        price_files(
            &repo("infra/template.yaml"),
            &repo("infra/ping-home.sample.json"),
            &HomeProfile::default(),
            parameters,
        )
        .unwrap()
    };
    let default = bill(&[]);
    let with = bill(&[("CreateDashboard".into(), "yes".into())]);
    let dashboards = |b: &failberry_ctl::cost::Bill| {
        b.lines
            .iter()
            .find(|l| l.item == "CloudWatch dashboards")
            .map_or(0.0, |l| l.list_usd)
    };
    assert_eq!(dashboards(&default), 0.0, "off by default");
    assert!(dashboards(&with) > 0.0);
    let page = std::fs::read_to_string(repo("docs/cost.md")).unwrap();
    for (figure, setting) in [
        (default.list_usd, "with the defaults"),
        (with.list_usd, "with `CreateDashboard=yes`"),
    ] {
        let said = format!("**${figure:.2}**");
        assert!(
            page.replace('\n', " ")
                .contains(&format!("{said} a month {setting}"))
                || page
                    .replace('\n', " ")
                    .contains(&format!("{said} {setting}")),
            "docs/cost.md should say {said} {setting}"
        );
    }
}
