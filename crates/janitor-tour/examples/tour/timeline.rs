//! The printed timeline every scene writes to: thirteen numbered scenes, some in several steps, each
//! saying what .NET does and listing, numbered, what janitor did.

use std::time::Instant;

/// The tour's output: scenes, each with what .NET does and a numbered list of what janitor did.
pub struct Timeline {
    scene: usize,
    step: usize,
    event: usize,
    started: Instant,
}

impl Timeline {
    pub fn new() -> Self {
        println!("janitor tour: the .NET object-lifetime system, in Rust\n");
        Self {
            scene: 0,
            step: 0,
            event: 0,
            started: Instant::now(),
        }
    }

    /// Opens the next numbered scene.
    pub fn scene(&mut self, title: &str) {
        self.scene += 1;
        self.step = 0;
        println!("\n== Scene {}: {title}", self.scene);
    }

    /// Opens the next step of the current scene: one more facet of the same behaviour.
    pub fn step(&mut self, title: &str) {
        self.step += 1;
        println!("\n   -- {}.{} {title}", self.scene, self.step);
    }

    /// What .NET does in the situation the scene (or step) sets up.
    pub fn dotnet(&self, text: &str) {
        println!("   .NET:    {text}");
    }

    /// One numbered event of what janitor did.
    pub fn event(&mut self, text: impl AsRef<str>) {
        self.event += 1;
        println!("   [{:>3}]   {}", self.event, text.as_ref());
    }

    /// A line of a table, printed as is under the current scene.
    pub fn row(&self, text: impl AsRef<str>) {
        println!("            {}", text.as_ref());
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
