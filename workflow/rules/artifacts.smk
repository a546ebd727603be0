rule link_artifacts:
    """Validate and symlink published artifacts from artifacts.dir (a manifest is always written)."""
    output:
        manifest=paths.MANIFEST,
        linked=linked_targets(),
    params:
        artifacts_dir=config["artifacts"].get("dir"),
    log:
        "logs/link_artifacts.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/link_artifacts.py"
