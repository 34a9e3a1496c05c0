//! The closing table (scene 12): what the collector did during the tour, from its own counters.

use crate::timeline::Timeline;
use janitor::gc::{self, GcStats, MemoryInfo};

pub fn run(tour: &mut Timeline) {
    tour.scene("GC statistics for the whole tour");
    tour.dotnet(
        "GC.CollectionCount(n), GC.GetTotalMemory, GC.GetTotalPauseDuration and \
         GC.GetGCMemoryInfo() report the same kind of numbers, one call each.",
    );
    let stats = gc::stats();
    let info = gc::memory_info();
    tour.event("gc::stats() and gc::memory_info() after the tour:");
    table(tour, &stats, &info);
    tour.event("gc::stats() in one line, for a log:");
    tour.row(stats.to_string());
}

fn table(tour: &Timeline, stats: &GcStats, info: &MemoryInfo) {
    let [gen0, gen1, gen2] = stats.collections;
    let generation = |index: usize| {
        let sizes = info.generations[index];
        format!("{} objects, {} bytes", sizes.objects, sizes.bytes)
    };
    let rows = [
        (
            "collections gen0 / gen1 / gen2",
            format!("{gen0} / {gen1} / {gen2}"),
        ),
        (
            "induced / by allocation / by pressure",
            format!(
                "{} / {} / {}",
                stats.induced_collections, stats.allocation_collections, stats.pressure_collections
            ),
        ),
        (
            "objects examined / freed by collections",
            format!("{} / {}", stats.examined_objects, stats.freed_objects),
        ),
        (
            "promoted by the last collection",
            format!(
                "{} objects, {} bytes",
                info.promoted_objects, info.promoted_bytes
            ),
        ),
        ("tracked in gen0", generation(0)),
        ("tracked in gen1", generation(1)),
        ("tracked in gen2", generation(2)),
        (
            "heap bytes (all live objects)",
            stats.heap_bytes.to_string(),
        ),
        (
            "memory pressure declared",
            stats.memory_pressure.to_string(),
        ),
        (
            "pause: last / total",
            format!("{:.1?} / {:.1?}", stats.last_pause, stats.total_pause),
        ),
        ("pending finalizers", stats.pending_finalizers.to_string()),
        ("objects finalized", stats.finalized_objects.to_string()),
    ];
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, value) in rows {
        tour.row(format!("{name:<width$}   {value}"));
    }
}
