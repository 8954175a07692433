"""RunChunk heartbeat and requeue count: a chunk whose worker died is re-dispatched."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0003_runstatistics_subject_plots"),
    ]

    operations = [
        migrations.AddField(
            model_name="runchunk",
            name="heartbeat_at",
            field=models.DateTimeField(
                blank=True,
                help_text="Last sign of life of its worker (start, then each subject); none while queued",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="runchunk",
            name="requeues",
            field=models.PositiveIntegerField(
                default=0, help_text="Times it was re-dispatched because its worker fell silent"
            ),
        ),
        migrations.AlterField(
            model_name="runchunk",
            name="worker",
            field=models.CharField(
                blank=True,
                help_text="Worker (node/pid) computing it, or that last did",
                max_length=200,
            ),
        ),
        migrations.AddIndex(
            model_name="runchunk",
            index=models.Index(fields=["status", "heartbeat_at"], name="chunk_stall_idx"),
        ),
    ]
