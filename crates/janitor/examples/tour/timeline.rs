//! The printed timeline every scene writes to: numbered events under scene headings.

use std::time::Instant;

/// The tour's output: scenes, each with what .NET does and a numbered list of what janitor did.
pub struct Timeline {
    scene: usize,
    event: usize,
    started: Instant,
}

impl Timeline {
    pub fn new() -> Self {
        println!("janitor tour: the .NET object-lifetime system, in Rust\n");
        Self {
            scene: 0,
            event: 0,
            started: Instant::now(),
        }
    }

    /// Opens a scene.
    pub fn scene(&mut self, title: &str) {
        self.scene += 1;
        println!("\n== Scene {}: {title}", self.scene);
    }

    /// What .NET does in the situation the scene sets up.
    pub fn dotnet(&self, text: &str) {
        println!("   .NET:    {text}");
    }

    /// One numbered event of what janitor did.
    pub fn event(&mut self, text: impl AsRef<str>) {
        self.event += 1;
        println!("   [{:>3}]   {}", self.event, text.as_ref());
    }

    pub fn finish(self) {
        println!(
            "\nTour finished: {} scenes, {} events, {:.1?}.",
            self.scene,
            self.event,
            self.started.elapsed()
        );
    }
}
