//! The rig engine: auto-rig a character silhouette and deform its own pixels along text-chosen motions.
