//! The OpenAPI document, generated from the handlers' annotations and the types they
//! exchange, so it cannot drift from the code.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kinema",
        description = "Animate a game character image from a short action description. \
Upload an image, submit a task, follow its progress, download the clips."
    ),
    paths(crate::api::downloads::download),
    components(schemas(crate::errors::ErrorBody, crate::errors::ErrorDetail)),
    modifiers(&BearerAuth),
    tags(
        (name = "capabilities", description = "What this server can do"),
        (name = "uploads", description = "Character images"),
        (name = "tasks", description = "Generation tasks"),
        (name = "outputs", description = "Finished files"),
    )
)]
pub struct ApiDoc;

/// Declares the bearer scheme; it is optional in the document because a loopback server
/// started without `--token` needs none.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![
            SecurityRequirement::default(),
            SecurityRequirement::new("bearer", Vec::<String>::new()),
        ]);
    }
}
