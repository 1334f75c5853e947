# The indexes the query plans asked for at national scale (1.5 million requests): a département's queue in
# filing order, all of it and its requests to instruct, its counts by status and year, its payable requests,
# and each payment batch's requests.
# On PostgreSQL they are built concurrently, so that filing and instruction go on while they are built.

from django.conf import settings
from django.db import migrations, models

from chorus.migration_operations import AddIndexWithoutBlocking


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('refunds', '0006_sirene_flag'),
        ('structures', '0004_sirene_directory'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexWithoutBlocking(
            model_name='refundrequest',
            index=models.Index(condition=models.Q(('status', 'draft'), _negated=True), fields=['departement', 'filed_at', 'id'], name='refund_request_queue'),
        ),
        AddIndexWithoutBlocking(
            model_name='refundrequest',
            index=models.Index(condition=models.Q(('status__in', ['filed', 'in_review'])), fields=['departement', 'filed_at', 'id'], name='refund_request_to_instruct'),
        ),
        AddIndexWithoutBlocking(
            model_name='refundrequest',
            index=models.Index(condition=models.Q(('payment_batch__isnull', True), ('status__in', ['accepted', 'partly_accepted'])), fields=['departement'], name='refund_request_payable'),
        ),
        AddIndexWithoutBlocking(
            model_name='refundrequest',
            index=models.Index(condition=models.Q(('status', 'draft'), _negated=True), fields=['departement', 'status', 'year'], name='refund_request_queue_counts'),
        ),
        AddIndexWithoutBlocking(
            model_name='refundrequest',
            index=models.Index(condition=models.Q(('payment_batch__isnull', False)), fields=['payment_batch', 'departement'], name='refund_request_batch'),
        ),
    ]
