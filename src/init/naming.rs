//! Name normalization: one spelling for names written in different conventions, so that
//! `"CustomerId"` meets `customer_id` and `OrderItem` meets `order_items`.

/// `CustomerId` → `customer_id`, `HTTPServer` → `http_server`, `order-items` → `order_items`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            out.push('_');
            continue;
        }
        if c.is_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out.split('_')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// The singular of one English word, by the common rules; unknown shapes stay as they are.
pub fn singular(word: &str) -> String {
    const IRREGULAR: &[(&str, &str)] = &[
        ("people", "person"),
        ("children", "child"),
        ("men", "man"),
        ("women", "woman"),
        ("data", "data"),
        ("media", "media"),
    ];
    if let Some((_, s)) = IRREGULAR.iter().find(|(p, _)| *p == word) {
        return s.to_string();
    }
    let keep = ["ss", "us", "is", "news", "series", "status"];
    if word.len() <= 3 || keep.iter().any(|k| word.ends_with(k)) {
        return match word.strip_suffix("uses") {
            Some(stem) => format!("{stem}us"),
            None => word.to_string(),
        };
    }
    if let Some(stem) = word.strip_suffix("ies") {
        return format!("{stem}y");
    }
    for suffix in ["sses", "xes", "ches", "shes", "zes", "uses"] {
        if let Some(stem) = word.strip_suffix(suffix) {
            return format!("{stem}{}", &suffix[..suffix.len() - 2]);
        }
    }
    match word.strip_suffix('s') {
        Some(stem) => stem.to_string(),
        None => word.to_string(),
    }
}

/// The key two table names are compared by: snake_case, lower case, last word singular.
pub fn table_key(name: &str) -> String {
    let snake = snake_case(name);
    match snake.rsplit_once('_') {
        Some((head, last)) => format!("{head}_{}", singular(last)),
        None => singular(&snake),
    }
}

/// The key two column names are compared by: snake_case, lower case.
pub fn column_key(name: &str) -> String {
    snake_case(name)
}

/// The words of a normalized name.
pub fn words(key: &str) -> Vec<&str> {
    key.split('_').filter(|w| !w.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_handles_the_usual_conventions() {
        assert_eq!(snake_case("CustomerId"), "customer_id");
        assert_eq!(snake_case("customerID"), "customer_id");
        assert_eq!(snake_case("HTTPServer"), "http_server");
        assert_eq!(snake_case("order-items"), "order_items");
        assert_eq!(snake_case("Order Item"), "order_item");
        assert_eq!(snake_case("address2"), "address2");
        assert_eq!(snake_case("__x__y"), "x_y");
    }

    #[test]
    fn singular_of_common_plurals() {
        for (plural, one) in [
            ("customers", "customer"),
            ("categories", "category"),
            ("addresses", "address"),
            ("boxes", "box"),
            ("matches", "match"),
            ("statuses", "status"),
            ("status", "status"),
            ("people", "person"),
            ("news", "news"),
            ("bus", "bus"),
            ("logs", "log"),
            ("analysis", "analysis"),
        ] {
            assert_eq!(singular(plural), one, "{plural}");
        }
    }

    #[test]
    fn table_keys_meet_across_conventions() {
        assert_eq!(table_key("Customer"), table_key("customers"));
        assert_eq!(table_key("OrderItem"), table_key("order_items"));
        assert_eq!(table_key("OrderItems"), "order_item");
        assert_eq!(table_key("film_category"), table_key("FilmCategories"));
        assert_ne!(table_key("workout_plans"), table_key("workout_weeks"));
        assert_eq!(column_key("CustomerId"), column_key("customer_id"));
    }
}
