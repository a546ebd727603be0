rule link_artifacts:
    """Validate published artifacts from artifacts.dir against the config and symlink them
    (a manifest is always written)."""
    output:
        manifest=paths.MANIFEST,
        linked=linked_targets(),
    params:
        settings=settings.link_artifacts(config),
    log:
        "logs/link_artifacts.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/link_artifacts.py"


if "world_model" in LINKED:

    rule import_world_model:
        """Published LeWM checkpoint -> LARC world-model checkpoint: weights loaded strictly
        into the configured model, action statistics fitted on the demonstrations."""
        input:
            ckpt=link_target("world_model", LINKED["world_model"]),
            h5=paths.DEMOS,
        output:
            ckpt=IMPORTED_WORLD_MODEL,
        params:
            settings=settings.import_world_model(config),
        threads: 1
        resources:
            mem_mb=4000,
        log:
            "logs/import_world_model.log",
        conda:
            "../../environment.yml"
        script:
            "../scripts/import_world_model.py"
