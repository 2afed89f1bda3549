from django.db import migrations

LEVELS = [
    (
        "foundations",
        "Foundations",
        10,
        "How machines talk: clients and servers, the protocols between them, peer-to-peer.",
    ),
    (
        "characteristics",
        "Characteristics",
        20,
        "What you measure and promise: latency, availability, throughput, consistency, storage.",
    ),
    (
        "building-blocks",
        "Building blocks",
        30,
        "The parts every large system is built from: load balancers, rate limiters, queues.",
    ),
    (
        "technologies",
        "Technologies",
        40,
        "The named tools you will meet in a design review: ZooKeeper, Redis, Kafka, gRPC, Vizier.",
    ),
    (
        "ml-lifecycle",
        "ML lifecycle",
        50,
        "From problem statement to monitoring: the terms of each step of an ML system design.",
    ),
]


def create_levels(apps, schema_editor):
    Level = apps.get_model("concepts", "Level")
    for slug, name, order, description in LEVELS:
        Level.objects.update_or_create(
            slug=slug, defaults={"name": name, "order": order, "description": description}
        )


class Migration(migrations.Migration):
    dependencies = [("concepts", "0001_initial")]

    operations = [migrations.RunPython(create_levels, migrations.RunPython.noop)]
